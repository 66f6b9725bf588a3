"""The chat page's `data-testid` hooks, as PROTOCOL.md names them."""

HOOKS = [
    "local-video",
    "remote-video",
    "start",
    "next",
    "stop",
    "status",
    "interests",
    "chat-log",
    "chat-input",
    "chat-send",
    "partner",
    "common-interests",
    "like",
    "report",
    "block",
    "online-count",
    "friend",
    "friends-link",
]
