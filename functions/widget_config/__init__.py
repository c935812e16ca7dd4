"""The widget_config function."""
