"""The profile cache against the real Redis and Postgres: freshness, stampedes, outages."""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import override_settings
from django_redis import get_redis_connection

from profiles import cache, selectors, services
from profiles.models import Profile
from seendr import keys
from seendr.testing.servers import free_port

READERS = 50


def cache_redis():
    return get_redis_connection("default")


def run_concurrently(fn, n: int = READERS) -> tuple[list, int]:
    """Run ``fn`` in ``n`` threads released together; returns results and how many threads
    sent SQL to Postgres (each thread has its own connection, watched by execute_wrapper)."""
    barrier = threading.Barrier(n)
    querying_threads = 0
    lock = threading.Lock()

    def worker():
        sent = []

        def watch(execute, sql, params, many, context):
            sent.append(sql)
            return execute(sql, params, many, context)

        try:
            with connection.execute_wrapper(watch):
                barrier.wait(timeout=30)
                result = fn()
            if sent:
                nonlocal querying_threads
                with lock:
                    querying_threads += 1
            return result
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=n) as pool:
        results = [f.result(timeout=60) for f in [pool.submit(worker) for _ in range(n)]]
    return results, querying_threads


# --- Stampede protection ---------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_cold_hot_key_costs_postgres_one_query_for_50_concurrent_readers(make_user):
    make_user("hot", display_name="Hot Stuff", interests=["jazz"])
    cache_redis().delete(keys.profile_alias("hot"))
    cache.reset_stats()

    results, querying_threads = run_concurrently(lambda: selectors.get_public_profile(username="hot"))

    assert all(r is not None and r["display_name"] == "Hot Stuff" for r in results)
    assert querying_threads == 1, "exactly one of 50 cold readers may read Postgres"
    stats = cache.stats()
    assert stats["db_loads"] == 1
    assert stats["wait_timeouts"] == 0
    assert stats["lock_waits"] >= 1


@pytest.mark.django_db(transaction=True)
def test_cold_card_by_user_id_is_filled_once(make_user):
    from seendr.identity import for_user

    user = make_user("cardy", country="BR", interests=["samba"])
    cache_redis().delete(keys.profile_record(user.pk))
    identity = for_user(user)

    results, querying_threads = run_concurrently(lambda: selectors.get_card(identity=identity))

    assert {r["country"] for r in results} == {"BR"}
    assert querying_threads == 1


@pytest.mark.django_db(transaction=True)
def test_missing_profile_stampede_is_one_query_then_negatively_cached(django_assert_num_queries):
    results, querying_threads = run_concurrently(lambda: selectors.get_public_profile(username="ghost"))
    assert results == [None] * READERS
    assert querying_threads == 1
    ttl = cache_redis().ttl(keys.profile_alias("ghost"))
    assert 0 < ttl <= cache.NEGATIVE_TTL_SECONDS + cache.NEGATIVE_TTL_SECONDS // 3
    with django_assert_num_queries(0):
        assert selectors.get_public_profile(username="ghost") is None
    assert cache.stats()["negative_hits"] >= 1


@pytest.mark.django_db(transaction=True)
def test_negative_entry_is_replaced_when_the_user_signs_up(client):
    assert client.get("/api/profiles/late/").status_code == 404
    get_user_model().objects.create_user(username="late", password="pw-late-12345")
    assert client.get("/api/profiles/late/").status_code == 200


# --- Freshness -------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_edit_then_api_shows_the_new_value_at_once(client, make_user):
    user = make_user("editor", bio="old bio")
    assert client.get("/api/profiles/editor/").json()["bio"] == "old bio"  # now cached
    client.force_login(user)
    response = client.post(
        "/profile/",
        {"display_name": "Ed", "bio": "new bio", "country": "fr", "languages": "fr, en", "interests": "Go"},
    )
    assert response.status_code == 302
    body = client.get("/api/profiles/editor/").json()
    assert (body["bio"], body["display_name"], body["country"], body["interests"]) == (
        "new bio",
        "Ed",
        "FR",
        ["go"],
    )
    # Served from the cache, which holds the new value (not a miss that hid a stale entry).
    assert cache.get_by_user_id(user.pk)["bio"] == "new bio"


@pytest.mark.django_db
def test_likes_incremented_with_f_show_after_invalidation(make_user, django_capture_on_commit_callbacks):
    from django.db.models import F

    user = make_user("liked")
    assert selectors.get_public_profile(username="liked")["likes"] == 0
    with django_capture_on_commit_callbacks(execute=True):
        Profile.objects.filter(user=user).update(likes_received=F("likes_received") + 1)
        services.invalidate_profile(user_id=user.pk)
    assert selectors.get_public_profile(username="liked")["likes"] == 1


@pytest.mark.django_db
def test_rename_moves_the_alias(client, make_user, django_capture_on_commit_callbacks):
    user = make_user("oldname")
    assert client.get("/api/profiles/oldname/").status_code == 200
    user.username = "newname"
    with django_capture_on_commit_callbacks(execute=True):
        user.save()
    assert client.get("/api/profiles/oldname/").status_code == 404
    assert client.get("/api/profiles/newname/").json()["username"] == "newname"


@pytest.mark.django_db(transaction=True)
def test_concurrent_edits_and_reads_leave_the_cache_equal_to_postgres(make_user):
    """Writers and readers race; whatever the interleaving, the cache ends on the last write."""
    user = make_user("racer")
    stop = threading.Event()
    errors: list[BaseException] = []
    rounds = [0] * 4  # full evict-and-read rounds per reader

    def collected(fn):
        def run(*args) -> None:
            try:
                fn(*args)
            except BaseException as exc:  # surfaced by the assertion below
                errors.append(exc)
            finally:
                connection.close()

        return run

    @collected
    def writer(n: int) -> None:
        for i in range(6):
            services.update_profile(
                user_id=user.pk,
                display_name=f"w{n}-{i}",
                bio=f"bio {n}-{i}",
                country="",
                languages=[],
                interests=[f"t{n}{i}"],
            )

    @collected
    def reader(n: int) -> None:
        while not stop.is_set():
            # Evict, then read: readers keep refilling from Postgres while the writers commit.
            cache_redis().delete(keys.profile_record(user.pk))
            selectors.get_public_profile(username="racer")
            rounds[n] += 1

    readers = [threading.Thread(target=reader, args=(n,)) for n in range(4)]
    writers = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in readers + writers:
        t.start()
    for t in writers:
        t.join(timeout=60)
    # Every reader completes two more rounds after the last commit, so the record the readers
    # leave is a fill they made: it must hold the committed state.
    after_writes = list(rounds)
    deadline = time.monotonic() + 30
    while any(r < a + 2 for r, a in zip(rounds, after_writes, strict=True)) and not errors:
        assert time.monotonic() < deadline, f"readers stalled: {rounds} from {after_writes}"
        time.sleep(0.01)
    stop.set()
    for t in readers:
        t.join(timeout=60)
    assert not errors, errors
    assert not any(t.is_alive() for t in readers + writers)

    profile = Profile.objects.get(user=user)
    assert profile.display_name.startswith("w") and profile.display_name.endswith("-5")
    raw = cache_redis().get(keys.profile_record(user.pk))
    assert raw is not None, "the readers' last fill left no record"
    record = cache._decode(raw)
    assert (record["display_name"], record["bio"]) == (profile.display_name, profile.bio)


@pytest.mark.django_db
def test_a_stale_write_through_loses_to_a_newer_write(make_user):
    user = make_user("gen")
    client = cache_redis()
    before = client.get(keys.profile_record(user.pk))
    client.hset(keys.profile_generation(user.pk), "n", 7)
    from seendr.redis_state import lua

    stored = lua("profiles", "cache_write_through").run(
        client,
        [keys.profile_generation(user.pk), keys.profile_record(user.pk), keys.profile_alias("gen")],
        [6, '{"stale": true}', user.pk, 60],
    )
    assert stored == 0
    assert client.get(keys.profile_record(user.pk)) == before


@pytest.mark.django_db
def test_a_reader_that_missed_before_a_write_does_not_fill(make_user, django_capture_on_commit_callbacks):
    user = make_user("slow", bio="before")
    client = cache_redis()
    client.delete(keys.profile_record(user.pk))
    since_ms = cache._server_ms(client)  # the reader misses ...
    old = cache.load_records(user_ids=[user.pk])  # ... and loads the old row
    with django_capture_on_commit_callbacks(execute=True):  # a write commits, refreshes the cache
        services.update_profile(
            user_id=user.pk, display_name="", bio="after", country="", languages=[], interests=[]
        )
    client.delete(keys.profile_record(user.pk))  # the refreshed record is evicted
    cache._store_from_reader(client, old, [], since_ms=since_ms)  # the slow reader fills late
    assert client.get(keys.profile_record(user.pk)) is None
    assert selectors.get_public_profile(username="slow")["bio"] == "after"


@pytest.mark.django_db
def test_readers_never_overwrite_a_cached_record(make_user):
    user = make_user("keep", bio="fresh")
    assert cache.get_by_user_id(user.pk)["bio"] == "fresh"
    stale = dict(cache.get_by_user_id(user.pk), bio="stale")
    cache._store_from_reader(cache_redis(), [stale], [], since_ms=cache._server_ms(cache_redis()))
    assert cache.get_by_user_id(user.pk)["bio"] == "fresh"


# --- TTLs and counters -----------------------------------------------------------------------


@pytest.mark.django_db
def test_ttls_are_jittered(make_user):
    users = [make_user() for _ in range(30)]
    cache_redis().delete(*[keys.profile_record(u.pk) for u in users])
    selectors.get_cards(user_ids=[u.pk for u in users])
    ttls = {cache_redis().ttl(keys.profile_record(u.pk)) for u in users}
    low, high = cache.RECORD_TTL_SECONDS, cache.RECORD_TTL_SECONDS * (1 + cache.RECORD_TTL_JITTER)
    assert all(low - 2 <= t <= high for t in ttls)
    assert len(ttls) > 5, "records filled together must not all expire together"


@pytest.mark.django_db
def test_get_cards_reads_many_in_one_go_and_fills_misses_in_one_query(make_user, django_assert_num_queries):
    users = [make_user(display_name=f"Name {i}") for i in range(12)]
    ids = [u.pk for u in users]
    cache_redis().delete(*[keys.profile_record(i) for i in ids])
    cache.reset_stats()
    with django_assert_num_queries(2):  # profiles+users, then their interests
        cards = selectors.get_cards(user_ids=[*ids, 999_999])
    assert set(cards) == set(ids)
    assert cards[ids[3]]["display_name"] == "Name 3"
    assert cards[ids[3]]["username"] == users[3].username
    with django_assert_num_queries(0):
        assert selectors.get_cards(user_ids=ids) == {i: cards[i] for i in ids}
    stats = cache.stats()
    assert (stats["hits"], stats["misses"]) == (12, 13)


@pytest.mark.django_db
def test_hits_and_misses_are_counted(make_user):
    make_user("counted")
    cache_redis().delete(keys.profile_alias("counted"))
    cache.reset_stats()
    for _ in range(3):
        selectors.get_public_profile(username="counted")
    stats = cache.stats()
    assert (stats["misses"], stats["hits"], stats["db_loads"]) == (1, 2, 1)


# --- Cache Redis down ------------------------------------------------------------------------


def dead_cache_settings() -> dict:
    caches = {"default": dict(settings.CACHES["default"])}
    caches["default"]["LOCATION"] = f"redis://127.0.0.1:{free_port()}/0"
    return caches


@pytest.mark.django_db
def test_pages_and_api_answer_from_postgres_when_the_cache_redis_is_down(client, make_user, caplog):
    user = make_user("steady", bio="still here", interests=["chess"])
    caplog.set_level(logging.WARNING, logger="profiles.cache")
    with override_settings(CACHES=dead_cache_settings()):
        api = client.get("/api/profiles/steady/")
        page = client.get("/u/steady/")
        missing = client.get("/api/profiles/nobody-here/")
        cards = selectors.get_cards(user_ids=[user.pk])
        client.force_login(user)  # a signed-in visitor: sessions must degrade too
        own_page = client.get("/u/steady/")
        edit = client.post("/profile/", {"display_name": "S", "bio": "edited while down"})
    assert api.status_code == 200 and api.json()["bio"] == "still here"
    assert page.status_code == 200 and b"still here" in page.content
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    assert cards[user.pk]["username"] == "steady"
    assert own_page.status_code == 200
    assert edit.status_code == 302
    assert any("profile cache unavailable" in r.getMessage() for r in caplog.records)


def test_cache_outage_log_is_not_repeated_for_every_request(db, make_user, caplog):
    make_user("quiet")
    caplog.set_level(logging.WARNING, logger="profiles.cache")
    with override_settings(CACHES=dead_cache_settings()):
        for _ in range(5):
            assert selectors.get_public_profile(username="quiet")["username"] == "quiet"
    warnings = [r for r in caplog.records if r.name == "profiles.cache"]
    assert len(warnings) == 1


@pytest.mark.django_db
def test_get_cards_handles_more_ids_than_one_lua_call_takes(make_user):
    users = [make_user() for _ in range(3)]
    ids = [u.pk for u in users] + list(range(10_000_000, 10_012_000))  # 12,003 ids, 3 real
    cards = selectors.get_cards(user_ids=ids)
    assert set(cards) == {u.pk for u in users}


@pytest.mark.django_db
def test_cache_redis_dying_mid_traffic_and_coming_back(make_user, caplog, tmp_path, monkeypatch):
    """A real redis-server serves the cache, is killed, then restarted: reads never fail, and the
    cache is used again once the cool-down has passed."""
    import subprocess

    from seendr.testing.servers import redis_server_binary, wait_for_port

    binary = redis_server_binary()
    port = free_port()

    def start() -> subprocess.Popen:
        proc = subprocess.Popen(
            [
                binary,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(tmp_path),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(port)
        return proc

    make_user("phoenix", bio="rises")
    caches = {"default": dict(settings.CACHES["default"], LOCATION=f"redis://127.0.0.1:{port}/0")}
    caplog.set_level(logging.WARNING, logger="profiles.cache")
    monkeypatch.setattr(cache.breaker, "seconds", 0.2)
    proc = start()
    try:
        with override_settings(CACHES=caches):
            assert selectors.get_public_profile(username="phoenix")["bio"] == "rises"  # miss, fill
            assert cache.stats()["hits"] == 0
            selectors.get_public_profile(username="phoenix")
            assert cache.stats()["hits"] == 1

            proc.kill()
            proc.wait(timeout=10)
            for _ in range(3):
                assert selectors.get_public_profile(username="phoenix")["bio"] == "rises"
            assert any("profile cache unavailable" in r.getMessage() for r in caplog.records)

            proc = start()  # an empty cache comes back on the same port
            import time

            time.sleep(0.3)  # past the cool-down
            assert selectors.get_public_profile(username="phoenix")["bio"] == "rises"
            assert selectors.get_public_profile(username="phoenix")["bio"] == "rises"
            assert cache.stats()["hits"] == 1 and cache.stats()["db_loads"] == 1
    finally:
        proc.kill()
        proc.wait(timeout=10)


@pytest.mark.django_db
def test_deleted_and_deactivated_accounts_leave_the_cache_at_once(
    client, make_user, django_capture_on_commit_callbacks
):
    gone, banned = make_user("gone"), make_user("banned")
    gone_id = gone.pk
    assert client.get("/api/profiles/gone/").status_code == 200
    assert client.get("/api/profiles/banned/").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        gone.delete()
    banned.is_active = False
    with django_capture_on_commit_callbacks(execute=True):
        banned.save(update_fields=["is_active"])
    assert client.get("/api/profiles/gone/").status_code == 404
    assert client.get("/api/profiles/banned/").status_code == 404
    assert selectors.get_cards(user_ids=[gone_id, banned.pk]) == {}
