from django import template

register = template.Library()


@register.filter
def score_display(score, board: str) -> str:
    """Likes as a number; talk time as hours and minutes (the same rule as leaderboard.js)."""
    if score is None:
        return "0"
    if board != "talk_time":
        return str(score)
    seconds = int(score)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"
