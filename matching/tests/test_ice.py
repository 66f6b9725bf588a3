import base64
import hashlib
import hmac

from matching import ice


def test_turn_password_matches_rfc2202_hmac_sha1_vector():
    # RFC 2202 test case 2 (HMAC-SHA1, key "Jefe"): digest effcdf6a...7c79, here base64-encoded.
    assert ice.turn_password(secret="Jefe", username="what do ya want for nothing?") == (
        "7/zfauXrL6LSdBbV8YTfnCWafHk="
    )


def test_turn_credentials_follow_the_coturn_rest_scheme():
    username, credential = ice.turn_credentials(secret="north", identity_id="u42", expires_at=1_800_000_000)
    assert username == "1800000000:u42"
    expected = base64.b64encode(hmac.new(b"north", b"1800000000:u42", hashlib.sha1).digest()).decode()
    assert credential == expected


def test_ice_servers_with_turn(settings):
    settings.STUN_URLS = ["stun:stun.example.org:3478"]
    settings.TURN_URLS = ["turn:turn.example.org:3478?transport=udp", "turns:turn.example.org:5349"]
    settings.TURN_SECRET = "s3cret"
    settings.TURN_CREDENTIAL_TTL = 600
    servers = ice.ice_servers(identity_id="gabc", now=1_700_000_000.7)
    assert servers[0] == {"urls": ["stun:stun.example.org:3478"]}
    turn = servers[1]
    assert turn["urls"] == settings.TURN_URLS
    assert turn["username"] == "1700000600:gabc"
    digest = hmac.new(b"s3cret", b"1700000600:gabc", hashlib.sha1).digest()
    assert turn["credential"] == base64.b64encode(digest).decode()


def test_turn_omitted_without_secret_or_urls(settings):
    settings.STUN_URLS = ["stun:stun.example.org:3478"]
    settings.TURN_URLS = ["turn:turn.example.org:3478"]
    settings.TURN_SECRET = ""
    assert ice.ice_servers(identity_id="u1") == [{"urls": ["stun:stun.example.org:3478"]}]
    settings.TURN_SECRET = "x"
    settings.TURN_URLS = []
    assert ice.ice_servers(identity_id="u1") == [{"urls": ["stun:stun.example.org:3478"]}]
    settings.STUN_URLS = []
    assert ice.ice_servers(identity_id="u1") == []
