"""The shared kernel: what every app builds on (service errors, money helpers, the Wagtail admin
toolkit). No models, no Django app, nothing runs on import; it imports no app of ours."""
