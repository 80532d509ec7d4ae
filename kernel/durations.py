"""Durations for people: "about 8 minutes", not "485 seconds"."""


def wait_in_words(seconds: int) -> str:
    """How long someone should wait, rounded to what a person would say: "a minute" up to a
    minute and a half, then "about N minutes" (to the nearest minute), then "about an hour" /
    "about N hours" (to the nearest hour). Reads after "try again in …"."""
    seconds = max(int(seconds), 0)
    if seconds < 90:
        return "a minute"
    minutes = (seconds + 30) // 60
    if minutes < 60:
        return f"about {minutes} minutes"
    hours = (seconds + 1800) // 3600
    return "about an hour" if hours == 1 else f"about {hours} hours"
