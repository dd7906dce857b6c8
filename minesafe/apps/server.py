"""What ``minesafe app`` plugs into Voilà (they run in the Voilà process; see minesafe/app.py and
docs/whatif.md): a cap on kernels, a kernel freed as soon as its page is gone, and a page that
only the printed address with its token opens."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from jupyter_server.auth.identity import PasswordIdentityProvider
from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager
from tornado.ioloop import IOLoop
from tornado.web import HTTPError, RequestHandler
from traitlets import Float, Integer


class PageLimitedKernelManager(AsyncMappingKernelManager):
    """Voilà's kernel manager with a cap: every page load starts a kernel, so without one, reloads
    and scripted requests pile kernels up until the machine runs out of memory.

    A page holds its kernel through one websocket. Voilà's own shutdown request when a page is
    closed or reloaded is refused by the server (no ``_xsrf`` token), so the kernel is freed here
    instead: once its last websocket has closed and none opened again within
    ``closed_page_seconds``; a kernel whose page never connected (a load abandoned midway) after
    ``unopened_page_seconds``. The connections are counted through jupyter_server's
    ``notify_connect`` and ``notify_disconnect`` and read from ``kernel_model``.
    """

    max_kernels = Integer(4, config=True, help="How many kernels (open pages) may run at once.")
    closed_page_seconds = Float(
        5, config=True, help="How long a kernel whose page closed (no websocket left) is kept for the page to reconnect."
    )
    unopened_page_seconds = Float(
        120, config=True, help="How long a kernel whose page never connected is kept (the page is still loading)."
    )

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.starting = 0  # kernels being started: not listed yet, but they count (N loads at once)
        self.page_events: Counter[str] = Counter()  # connects and disconnects per kernel, to spot a stale check

    def notify_connect(self, kernel_id: str) -> None:
        super().notify_connect(kernel_id)
        self.page_events[kernel_id] += 1

    def notify_disconnect(self, kernel_id: str) -> None:
        super().notify_disconnect(kernel_id)
        self.page_events[kernel_id] += 1
        self.schedule_release(kernel_id, self.closed_page_seconds)

    def schedule_release(self, kernel_id: str, seconds: float) -> None:
        """Shut the kernel down in ``seconds`` unless a page connects or disconnects in between."""
        seen = self.page_events[kernel_id]
        IOLoop.current().call_later(seconds, lambda: asyncio.ensure_future(self.release_kernel(kernel_id, seen)))

    async def release_kernel(self, kernel_id: str, seen: int) -> None:
        """Shut down a kernel no page holds (nothing happened to it since ``seen``)."""
        if kernel_id not in self or self.page_events[kernel_id] != seen:
            return
        if self.kernel_model(kernel_id)["connections"] == 0:
            self.log.info("Kernel %s: its page is gone, shutting it down", kernel_id)
            self.page_events.pop(kernel_id, None)
            await self.shutdown_kernel(kernel_id)

    async def start_kernel(self, *args: Any, **kwargs: Any) -> str:  # type: ignore[override]  # async at run time; the base's annotation says str
        if len(self.list_kernel_ids()) + self.starting >= self.max_kernels:
            raise HTTPError(
                503,
                f"已打开的假设分析页面达到上限（{self.max_kernels} 个）。请关闭不用的页面后刷新；空闲的页面到时会自动关闭。",
            )
        self.starting += 1
        try:
            kernel_id = await super().start_kernel(*args, **kwargs)
        finally:
            self.starting -= 1
        self.schedule_release(kernel_id, self.unopened_page_seconds)
        return kernel_id


_REFUSED_PAGE = """<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>假设分析页面：需要完整地址</title></head>
<body style="font-family:sans-serif;margin:3em"><div style="border:2px solid #c62828;padding:12px 18px;max-width:760px">
<h2>需要完整地址</h2><p>本页面只对持有 minesafe app 启动时显示的完整地址（含 token=…）的人开放。
请从启动它的终端复制完整地址，在浏览器中打开。</p></div></body></html>"""


class _RefusedLoginHandler(RequestHandler):
    """Where a request without the token is sent: a Chinese refusal instead of a login form."""

    def get(self) -> None:
        self.set_status(403)
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.finish(_REFUSED_PAGE)

    post = get


class TokenOnlyIdentityProvider(PasswordIdentityProvider):
    """Only the printed address, with its token, opens the page (the token sets a cookie, so the
    page's own requests follow); no password form."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**(kwargs | {"login_handler_class": _RefusedLoginHandler}))
