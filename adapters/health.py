"""The health check on Candor's HTTP servers: a GET (or HEAD) on the path the platform
posts to answers 200 "ok" while this process can serve, and 503 saying why while it
cannot (its database out of reach, as the store last found it). For a load balancer's
or an orchestrator's active check; it says nothing of a customer or a secret."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from bot.app import Candor


def health_check(app: Candor) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def health(request: web.Request) -> web.Response:
        problem = app.unhealthy()
        if problem:
            return web.Response(status=503, text=f"{problem}\n")
        return web.Response(text="ok\n")

    return health
