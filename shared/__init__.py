"""The library every function of the chat-widget platform shares."""
