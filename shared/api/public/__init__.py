"""The visitor-facing routes: widget config, sessions, demo page, chat."""
