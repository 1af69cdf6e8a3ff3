"""The web server (aiohttp) of the status page and the dashboard: the pages
themselves are bot/web/."""
