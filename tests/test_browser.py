"""The code-free what-if app in a real browser: Playwright driving Debian's Chromium against
``minesafe app`` on 127.0.0.1. A veto row is failed and restored; the verdict shown must flip from
合格 to 不合格 and back, and the page must fetch nothing from anywhere but the local server.

Chromium comes from Debian's package (.ci/run installs it). Without a browser the test is skipped,
saying what to install; in CI (``CI`` set) a missing browser fails it instead.
"""

import os
import shutil
import socket
import time
from pathlib import Path

import psutil
import pytest
import yaml

from .conftest import DEMO, start_app, stop_app

CHROMIUM_FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]  # fmt: skip


@pytest.fixture(scope="module")
def chromium():
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        message = "没有可用的 Chromium：请安装 Debian 的 chromium 软件包（apt-get install chromium）后再运行本测试"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="module")
def submission(tmp_path_factory) -> Path:
    """A copy of the demo's 丁县: the app writes its exported scenario beside the submission."""
    folder = tmp_path_factory.mktemp("submission")
    shutil.copy(DEMO / "counties" / "ding.yaml", folder / "ding.yaml")
    return folder / "ding.yaml"


@pytest.fixture(scope="module")
def app_url(submission):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server, url = start_app(str(submission), "--port", str(port))
    try:
        yield url
    finally:
        stop_app(server)


def test_verdict_flips_in_the_browser_and_nothing_is_fetched_from_elsewhere(chromium, app_url, submission, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    requested: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900}, accept_downloads=True)
            page.on("request", lambda r: requested.append(r.url))
            page.goto(app_url)
            verdict = page.locator(".ms-verdict")
            expect(verdict).to_have_text("考核评估结论：合格", timeout=90_000)
            expect(page.locator(".ms-summary")).to_have_text(
                "评估结果汇总：否决项完成的有 28 项，未完成的有 0 项，不涉及的有 1 项；评分项共计得分 80 分"
            )
            # the page names the unit and carries the report's notices; its title fits the unit
            expect(page).to_have_title("假设分析：示例省 示例丁县（重点县）")
            expect(page.locator(".ms-unit")).to_contain_text("被评估地区：示例省 示例丁县")
            expect(page.locator(".ms-unit")).to_contain_text("参数方案：未使用")
            expect(page.locator(".ms-notice")).to_contain_text("【示例数据】")
            page.screenshot(path=str(tmp_path / "top.png"))
            page.get_by_text("二、（1）优化产业结构").click()
            row = _row(page, "1-1a")
            row.select_option("未完成")
            expect(verdict).to_have_text("考核评估结论：不合格")
            # the changed row is highlighted and keeps its dropdown arrow (the select's background image)
            expect(row).to_have_css("background-color", "rgb(255, 243, 205)")
            assert row.evaluate("e => getComputedStyle(e).backgroundImage") != "none"
            expect(page.locator(".ms-changes")).to_contain_text("第 1-1a 行：完成 → 未完成")
            # a row far down the page: the verdict stays in view while it is edited
            page.get_by_text("二、（5）强化安全监管责任落实").click()
            last = _row(page, "5-5b")
            last.scroll_into_view_if_needed()
            last.select_option("未完成")
            expect(page.locator(".ms-changes")).to_contain_text("第 5-5b 行：完成 → 未完成")
            page.screenshot(path=str(tmp_path / "sticky.png"))
            box = verdict.bounding_box()
            assert page.locator(".ms-title").bounding_box()["y"] < 0, "the page has scrolled past its title"
            assert 0 <= box["y"] <= 60, box  # yet the verdict is at the top of the window
            last.select_option("完成")
            page.get_by_text("二、（1）优化产业结构").click()
            row.select_option("完成")
            expect(verdict).to_have_text("考核评估结论：合格")
            expect(page.locator(".ms-changes")).to_have_text("尚未改动，显示的是提交数据的评估结果。")
            # the scenario export, beside the submission under a chosen name and as a browser download
            # (once the kernel has the change)
            row.select_option("未完成")
            expect(page.locator(".ms-changes")).to_contain_text("第 1-1a 行：完成 → 未完成")
            exported = submission.with_name("情景.yaml")
            page.locator(".widget-text").filter(has=page.locator("label", has_text="导出到")).locator("input").fill(exported.name)
            page.get_by_role("button", name="导出为提交文件").click()
            link = page.locator("a.ms-download")
            expect(link).to_have_text("下载此情景文件：情景.yaml")
            with page.expect_download() as download:
                link.click()
            assert download.value.suggested_filename == "情景.yaml"
            downloaded = Path(download.value.path()).read_bytes()
            assert downloaded == exported.read_bytes()
            assert yaml.safe_load(downloaded)["scenario"]["changes"] == ["第 1-1a 行：完成 → 未完成"]
            page.screenshot(path=str(tmp_path / "exported.png"), full_page=True)
        finally:
            browser.close()
    server = app_url.split("?")[0]
    outside = [u for u in requested if not u.startswith((server, server.replace("127.0.0.1", "localhost"), "data:", "blob:"))]
    assert not outside, outside


def _row(page, row_id: str):
    """The result menu of one row of the form."""
    return page.locator(".widget-dropdown").filter(has=page.locator("label", has_text=row_id)).locator("select")


def _page_kernels(server_pid: int) -> list:
    """The kernels the app's Voilà runs: one per open page. A kernel that has exited (gone, or a
    zombie its parent has not reaped yet) is not running any page."""
    return [p for p in psutil.Process(server_pid).children(recursive=True) if _is_live_kernel(p)]


def _is_live_kernel(process: psutil.Process) -> bool:
    try:
        return process.status() != psutil.STATUS_ZOMBIE and "ipykernel_launcher" in " ".join(process.cmdline())
    except (psutil.NoSuchProcess, psutil.ZombieProcess):  # it exited between listing and asking
        return False


def test_reloads_and_closed_pages_free_their_kernels(chromium, tmp_path):
    """An evaluator reloads the page ten times (the cap is four pages), then opens a new one: every
    load is served, since a page that is gone (reloaded, closed) frees its kernel within seconds."""
    from playwright.sync_api import expect, sync_playwright

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server, url = start_app(str(DEMO / "counties" / "ding.yaml"), "--port", str(port), "--max-pages", "4")
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
            try:
                page = browser.new_page()
                page.goto(url)
                for _ in range(10):
                    expect(page.locator(".ms-verdict")).to_have_text("考核评估结论：合格", timeout=90_000)
                    page.reload()
                expect(page.locator(".ms-verdict")).to_have_text("考核评估结论：合格", timeout=90_000)
                other = browser.new_page()
                other.goto(url)
                expect(other.locator(".ms-verdict")).to_have_text("考核评估结论：合格", timeout=90_000)
                assert len(_page_kernels(server.pid)) <= 2 + 1  # the two open pages (and one being freed)
                page.close()
                other.close()
                deadline = time.monotonic() + 45  # 5 s for a page to reconnect, then the shutdown (slow on a loaded machine)
                while _page_kernels(server.pid) and time.monotonic() < deadline:
                    time.sleep(0.5)
                assert not _page_kernels(server.pid), "a closed page's kernel still runs"
            finally:
                browser.close()
    finally:
        stop_app(server)
