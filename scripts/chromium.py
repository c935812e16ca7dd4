"""How tests and benchmarks start Chromium: Debian's build, never a downloaded one."""

CHROMIUM = "/usr/bin/chromium"
# Headless on a machine with no outside network: no background traffic, no sandbox (we run as root).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
