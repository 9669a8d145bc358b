"""End to end in a real browser: `streamlit run app.py` on a free localhost port against a database the
pipeline built in a temp dir, driven by Playwright with Debian's Chromium (no browser download).

Enters two candidates in the editable table, uploads a CSV of three more, checks the ranking against
advisor.predict.shortlist called directly, downloads the shortlist CSV, and saves a screenshot of every page
in the test's temp dir, or under $RM_ADVISOR_SCREENSHOTS when set (CI artifacts; tests never write into
the checkout). Issue 26: the inputs survive a switch to another page, a link reproduces the comparison in
a fresh browser, the typed table fits a 1366 px window and commits with its button, the picker finds any
row and filters; the screenshots in docs/ come from these tests (``shot``: add a scenario as its own
test function and name its screenshots).
"""

from __future__ import annotations

import ast
import io
import os
import re
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
# pages/predict.py fixes the editor's column widths so cells can be clicked by position (read from it: the
# page is a script, not imported)
EDITOR_WIDTHS = ast.literal_eval(re.search(r"^EDITOR_WIDTHS = (\[[^\]]*\])", (ROOT / "pages" / "predict.py")
                                           .read_text(), re.MULTILINE).group(1))
ROW_MARKER, HEADER, ROW = 33, 35, 35
TYPED = [["org/alpha-7b", "7.6", "", "75", "35", "30", "9", "10", "37"],
         ["org/beta-1b", "1.5", "", "40", "10"]]
UPLOAD = ("Model,IFEval,BBH,MATH Lvl 5,GPQA,MUSR,MMLU-PRO,Params (B)\n"
          "up/gamma-3b,60,25,12,5,8,25,3.1\n"
          "up/delta-14b,82,50,40,15,16,50,14\n"
          "up/epsilon-0.5b,25,5,1,1,3,5,0.5\n")
PAGES = [("Predict & shortlist", "Which base model should I train my reward model on?", "1_predict"),
         ("Evidence", "Evidence: how far to trust the predictions", "2_evidence"),
         ("Reward-model results", "Reward-model results", "2_rm_results"),
         ("Benchmarks vs RM quality", "Benchmarks vs reward-model quality", "3_benchmarks"),
         ("Pre-training data", "Pre-training data", "4_pretraining"),
         ("Capabilities (PCA)", "Capabilities (PCA)", "5_capabilities"),
         ("Data & provenance", "Data & provenance", "6_data")]

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                reason=f"{CHROMIUM} missing: apt-get install chromium (.ci/run does)")


@pytest.fixture(scope="module")
def server(app_db, tmp_path_factory, serve_app):
    with serve_app(app_db, tmp_path_factory.mktemp("streamlit") / "server.log") as (url, _):
        yield url


@pytest.fixture(scope="module")
def browser():
    """One Chromium for the module (Playwright's sync API allows one instance at a time)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def browser_page(server, browser):
    page = browser.new_page(viewport={"width": 1800, "height": 1100}, accept_downloads=True)
    page.set_default_timeout(30_000)
    yield page
    page.close()


def screenshots(tmp_path: Path) -> Path:
    """Where screenshots go: $RM_ADVISOR_SCREENSHOTS (CI artifacts, the docs' images) or the test's tmp dir."""
    out = Path(os.environ.get("RM_ADVISOR_SCREENSHOTS") or tmp_path / "screenshots")
    out.mkdir(parents=True, exist_ok=True)
    return out


def shot(page, path: Path, locator=None) -> None:
    """A screenshot of the whole page, or of one element (scrolled into view) when ``locator`` is given."""
    (locator or page).screenshot(path=str(path), **({} if locator else {"full_page": True}))


def idle(page):
    """Let a rerun settle. A heuristic (the rerun may start later than 400 ms on a loaded machine): a value
    read after it that a rerun changes is awaited with ``metric_shows`` instead."""
    page.wait_for_timeout(400)
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden", timeout=60_000)


def metric_shows(page, i: int, text: str) -> None:
    """Wait until the ``i``-th metric shows ``text`` (the state an assertion needs, not a guessed time)."""
    page.wait_for_function("([i, t]) => { const m = document.querySelectorAll('[data-testid=stMetricValue]');"
                           " return m.length > i && m[i].innerText === t; }", arg=[i, text])


def type_row(page, grid, row: int, values: list[str]) -> None:
    grid.hover()
    page.locator('[data-testid="stElementToolbar"] button').first.click()  # "add row"
    idle(page)
    for col, value in enumerate(values):
        if not value:
            continue
        box = grid.bounding_box()
        x = box["x"] + ROW_MARKER + sum(EDITOR_WIDTHS[:col]) + EDITOR_WIDTHS[col] / 2
        y = box["y"] + HEADER + ROW * row + ROW / 2
        page.mouse.dblclick(x, y)
        editor = page.locator(".gdg-input").first
        editor.wait_for(state="visible", timeout=5000)
        editor.fill(value)
        page.keyboard.press("Enter")
        idle(page)


def test_enter_upload_rank_download_and_screenshot_every_page(server, browser_page, app_db, tmp_path):
    from advisor.predict.bundle import load_bundle
    from advisor.predict.shortlist import predict_candidates

    page = browser_page
    shots = screenshots(tmp_path)
    page.goto(server)
    page.get_by_text(PAGES[0][1]).wait_for()
    page.get_by_text("No candidates yet").wait_for()

    grid = page.locator('[data-testid="stDataFrame"]').first
    for i, values in enumerate(TYPED):
        type_row(page, grid, i, values)
    assert page.get_by_text("No candidates yet").count() == 1  # typing alone reruns nothing
    page.get_by_role("button", name="Use these rows").click()
    page.get_by_text("Candidates ranked").wait_for()
    metric_shows(page, 1, "2")  # top group, ranked, not ranked: both typed rows ranked

    page.get_by_role("tab", name="Upload CSV / lm-eval JSON").click()
    page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(
        files=[{"name": "candidates.csv", "mimeType": "text/csv", "buffer": UPLOAD.encode()}])
    idle(page)
    page.get_by_text("candidates.csv: Scale detected as 'normalized'").wait_for()
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=stMetricValue]')].some(e => e.innerText === '5')")
    assert page.locator('[data-testid="stException"]').count() == 0

    # the ranking the browser shows = advisor.predict.shortlist on the same inputs
    cols = ["hf_id", "params_b", "pretrain_tokens_t", "leaderboard_ifeval", "leaderboard_bbh",
            "leaderboard_math_hard", "leaderboard_gpqa", "leaderboard_musr", "leaderboard_mmlu_pro"]
    typed = pd.DataFrame([dict(zip(cols, v)) for v in TYPED]).replace("", None)
    typed[cols[1:]] = typed[cols[1:]].apply(pd.to_numeric)
    up = pd.read_csv(io.StringIO(UPLOAD)).rename(columns={
        "Model": "hf_id", "IFEval": "leaderboard_ifeval", "BBH": "leaderboard_bbh",
        "MATH Lvl 5": "leaderboard_math_hard", "GPQA": "leaderboard_gpqa", "MUSR": "leaderboard_musr",
        "MMLU-PRO": "leaderboard_mmlu_pro", "Params (B)": "params_b"})
    bundle = load_bundle(app_db)
    exp = predict_candidates(bundle, pd.concat([typed, up]).assign(scale="normalized"))
    top = exp[exp["rank_upper"] == 1]  # the verdict above the table names the top group (issue 24)
    assert page.locator('[data-testid="stMetricValue"]').nth(0).inner_text() == str(len(top))
    page.get_by_role("heading", name="Verdict").wait_for()
    verdict_text = page.locator('[data-testid="stMarkdownContainer"]').filter(has_text="upper-bound rank 1").first
    assert all(h in verdict_text.inner_text() for h in top["hf_id"])

    with page.expect_download() as dl:
        page.get_by_role("button", name="Download CSV").click()
    path = tmp_path / "shortlist.csv"
    dl.value.save_as(path)
    shortlist = pd.read_csv(path)
    assert dl.value.suggested_filename == "rm-advisor-shortlist.csv"
    assert list(shortlist["hf_id"]) == list(exp["hf_id"])
    assert list(shortlist["rank"]) == [1, 2, 3, 4, 5]
    assert list(shortlist["rank_upper"]) == list(exp["rank_upper"])
    assert shortlist["prediction"].to_numpy() == pytest.approx(exp["prediction"].to_numpy(), rel=1e-3)
    assert set(shortlist["predictor_version"]) == {bundle.version}
    assert shortlist.set_index("hf_id").loc["up/delta-14b", "leaderboard_ifeval"] == 82  # inputs travel along
    page.screenshot(path=str(shots / f"{PAGES[0][2]}.png"), full_page=True)

    for link, title, name in PAGES[1:]:
        page.get_by_role("link", name=link).click()
        page.get_by_role("heading", name=title).first.wait_for()
        idle(page)
        page.wait_for_timeout(800)  # let plotly draw
        assert page.locator('[data-testid="stException"]').count() == 0, name
        page.screenshot(path=str(shots / f"{name}.png"), full_page=True)
    assert sorted(p.name for p in shots.glob("*.png")) >= sorted(f"{n}.png" for _, _, n in PAGES)


def test_rank_command_prints_the_apps_csv_download(server, browser_page, app_db, tmp_path):
    """`python -m advisor rank FILE` on a fixture CSV gives the rows and columns of the app's CSV
    download for the same file (one shared code path, checked through both front doors)."""
    import subprocess
    import sys

    fixture = ROOT / "tests" / "fixtures" / "candidates" / "five_candidates.csv"
    page = browser_page
    page.goto(server)
    page.get_by_text(PAGES[0][1]).wait_for()
    page.get_by_role("tab", name="Upload CSV / lm-eval JSON").click()
    page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(str(fixture))
    idle(page)
    with page.expect_download() as dl:
        page.get_by_role("button", name="Download CSV").click()
    path = tmp_path / "app.csv"
    dl.value.save_as(path)
    app_csv = pd.read_csv(path)

    proc = subprocess.run([sys.executable, "-m", "advisor", "rank", str(fixture), "--db", str(app_db),
                           "--format", "csv"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    cli_csv = pd.read_csv(io.StringIO(proc.stdout))
    assert list(cli_csv.columns) == list(app_csv.columns)
    assert len(cli_csv) == len(app_csv) and cli_csv["rank"].notna().sum() == 4  # up/eta-2b: size unknown
    pd.testing.assert_frame_equal(cli_csv, app_csv)


# --- issue 17, rows 14 and 16: deep links on a fresh server, and no request leaves localhost ---------
NAV_TITLES = re.findall(r'st\.Page\("pages/\w+\.py", title="([^"]+)"', (ROOT / "app.py").read_text())  # app.py's order


def _nav_links(page) -> list[str]:
    page.locator('[data-testid="stSidebarNav"]').wait_for()
    return [t.strip().splitlines()[-1] for t in page.locator('[data-testid="stSidebarNav"] a').all_inner_texts()]


@pytest.mark.parametrize("path,heading", [("benchmarks", "Benchmarks vs reward-model quality"),
                                          ("data", "Data & provenance")])
def test_a_deep_link_as_the_first_request_gets_the_apps_pages_and_nothing_leaves_localhost(
        app_db, tmp_path, serve_app, browser, path, heading):
    from urllib.parse import urlparse

    with serve_app(app_db, tmp_path / "server.log") as (url, _):  # a fresh server for each deep link
        page = browser.new_page(viewport={"width": 1600, "height": 1000})  # a fresh browser context
        try:
            page.set_default_timeout(60_000)
            requests = []
            page.on("request", lambda r: requests.append(r.url))
            page.goto(f"{url}/{path}")  # the server's first session opens a deep link, not "/"
            page.get_by_role("heading", name=heading).first.wait_for()
            idle(page)
            page.wait_for_timeout(1500)
            assert len(NAV_TITLES) >= 6 and _nav_links(page) == NAV_TITLES  # not the auto-discovered pages/ files
            assert page.locator('[data-testid="stException"]').count() == 0
            assert urlparse(page.url).path == f"/{path}"
            page.get_by_role("link", name="Predict & shortlist").click()
            page.get_by_text(PAGES[0][1]).wait_for()
            idle(page)
            page.wait_for_timeout(1000)
            outside = sorted({u for u in requests if urlparse(u).scheme in ("http", "https", "ws", "wss")
                              and urlparse(u).hostname not in ("localhost", "127.0.0.1")})
            assert outside == []  # no fonts.gstatic.com, no telemetry
            assert any(urlparse(u).hostname == "localhost" for u in requests)
        finally:
            page.close()


# --- issue 17, rows 2 and 3 in the browser: hostile ids render as text and export neutralised -------
HOSTILE_CSV = ("Model,IFEval,BBH,MATH Lvl 5,GPQA,MUSR,MMLU-PRO,Params (B)\n"
               '"=HYPERLINK(""http://evil.example/x"",""x"")",60,25,12,5,8,25,3.1\n'
               "![i](http://evil.example/pixel.png),82,50,40,15,16,50,14\n"
               "[click](http://evil.example/link) :red[alarm],25,5,1,1,3,5,0.5\n"
               "@SUM(1),30,6,2,2,4,6,1\n"
               ":material/home: x,31,7,3,3,5,7,1.2\n")


def test_hostile_ids_render_as_text_fetch_nothing_and_export_neutralised(server, browser, tmp_path):
    import csv
    from urllib.parse import urlparse

    from advisor.core.untrusted import ZWSP

    page = browser.new_page(viewport={"width": 1800, "height": 1100}, accept_downloads=True)
    try:
        page.set_default_timeout(60_000)
        requests = []
        page.on("request", lambda r: requests.append(r.url))
        page.goto(server)
        page.get_by_text("No candidates yet").wait_for()
        page.get_by_role("tab", name="Upload CSV / lm-eval JSON").click()
        page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(
            files=[{"name": "[f](http://evil.example/file).csv", "mimeType": "text/csv",
                    "buffer": HOSTILE_CSV.encode()}])
        idle(page)
        page.get_by_text("Candidates ranked").wait_for()
        idle(page)
        page.get_by_text("Preview (Markdown)").click()
        idle(page)
        page.wait_for_timeout(1000)
        links = page.locator('a[href*="evil"]')
        assert [links.nth(i).evaluate("e => e.outerHTML") for i in range(links.count())] == []  # no links
        assert page.locator('img[src*="evil"]').count() == 0
        assert page.locator('[data-testid="stMarkdownContainer"] span[style*="color"]').count() == 0  # no :red[]
        outside = [u for u in requests if urlparse(u).hostname not in ("localhost", "127.0.0.1")
                   and urlparse(u).scheme in ("http", "https", "ws", "wss")]
        assert outside == []  # the image URL was not fetched, no icon font either
        shown = page.locator("body").inner_text().replace(ZWSP, "")
        assert "![i](http://evil.example/pixel.png)" in shown  # the text as typed
        assert "[f](http://evil.example/file).csv" in shown and ":material/home:" in shown

        with page.expect_download() as dl:
            page.get_by_role("button", name="Download CSV").click()
        path = tmp_path / "shortlist.csv"
        dl.value.save_as(path)
        with path.open(newline="") as fh:
            ids = sorted(r["hf_id"] for r in csv.DictReader(fh))
        assert ids == sorted(["'=HYPERLINK(\"http://evil.example/x\",\"x\")", "![i](http://evil.example/pixel.png)",
                              "[click](http://evil.example/link) :red[alarm]", "'@SUM(1)", ":material/home: x"])
        with page.expect_download() as dl:
            page.get_by_role("button", name="Download Markdown").click()
        md = (tmp_path / "shortlist.md")
        dl.value.save_as(md)
        text = md.read_text()
        assert "\\!\\[i\\](http\\:" + ZWSP + "//evil.example/pixel.png)" in text and "](http://" not in text
    finally:
        page.close()


MIXED = ("model,IFEval,BBH,MATH Lvl 5 (raw),GPQA %,MUSR,MMLU-PRO,Params (B),settings\n"
         "mix/zeta-7b,70,40,0.2,35,10,38,7,other\n")
CARD = "model,IFEval,GPQA,MMLU-PRO,Params (B),scale\ncard/eta-8b,80.1,30,52.3,8,percent\n"


def test_mixed_and_raw_uploads_in_the_browser(server, browser_page, tmp_path):
    """A mixed upload is put on one scale and ranked with its labels in the shortlist; a percent
    (model-card) upload becomes raw, is said so, and is ranked by the raw-scale predictor, its row
    labelled raw and partial with its interval."""
    page = browser_page
    page.goto(server)
    page.get_by_text("No candidates yet").wait_for()
    page.get_by_role("tab", name="Upload CSV / lm-eval JSON").click()
    page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(
        files=[{"name": "mixed.csv", "mimeType": "text/csv", "buffer": MIXED.encode()},
               {"name": "card.csv", "mimeType": "text/csv", "buffer": CARD.encode()}])
    idle(page)
    page.get_by_text("mixed.csv: 1 row(s) converted exactly").wait_for()
    page.get_by_text("card.csv: 1 row(s) converted exactly").wait_for()
    page.get_by_text("Candidates ranked").wait_for()
    assert page.locator('[data-testid="stException"]').count() == 0
    with page.expect_download() as dl:
        page.get_by_role("button", name="Download CSV").click()
    path = tmp_path / "shortlist.csv"
    dl.value.save_as(path)
    row = pd.read_csv(path).set_index("hf_id").loc["mix/zeta-7b"]
    assert row["scale"] == "normalized" and row["settings"] == "other"
    assert "MATH Lvl 5: raw 0.2 -> normalized 20 (exact)" in row["converted"]
    assert row["leaderboard_gpqa"] == pytest.approx(40 / 3, abs=0.005)  # the CSV export keeps 4 digits
    card = pd.read_csv(path).set_index("hf_id").loc["card/eta-8b"]
    assert card["scale"] == "raw" and bool(card["partial"]) and card["lower"] < card["upper"]


def test_across_recipes_and_own_results_upload(server, browser_page, app_db, tmp_path):
    """Issue 16 in the browser: the Across recipes page draws the observed-vs-predicted order with the
    agreement numbers of the database; the RM results page checks an uploaded results CSV and shows the
    pipeline command. Screenshots go to the test's tmp dir."""
    import duckdb

    page = browser_page
    page.goto(f"{server}/across_recipes")
    page.get_by_role("heading", name="Across recipes").first.wait_for()
    idle(page)
    page.locator(".js-plotly-plot").first.wait_for()
    page.wait_for_timeout(800)
    assert page.locator('[data-testid="stException"]').count() == 0
    page.get_by_text("advisor (Bradley-Terry)").last.click()
    idle(page)
    with duckdb.connect(str(app_db), read_only=True) as con:  # the page opens on the first comparison
        comp, rho = con.execute("SELECT comparison, spearman FROM transfer_agreement WHERE advisor_method = "
                                "'bradley_terry' AND spearman IS NOT NULL ORDER BY comparison LIMIT 1").fetchone()
    metric_shows(page, 0, f"{rho:+.2f}")  # after the rerun the click started, however long it takes
    shot = tmp_path / "across_recipes.png"
    page.screenshot(path=str(shot), full_page=True)
    chart = tmp_path / "across_recipes_chart.png"
    page.locator(".js-plotly-plot").first.screenshot(path=str(chart))  # scrolls the chart into view
    assert shot.stat().st_size > 20_000 and chart.stat().st_size > 10_000

    page.goto(f"{server}/rm_results")
    page.get_by_role("heading", name="Your own reward-model results").wait_for()
    idle(page)
    csv = "hf_id,method,chat,chat_hard,safety,reasoning\ngoogle/gemma-2-2b-it,bradley_terry,91.3,55.0,80.1,70.2\n"
    page.locator('[data-testid="stFileUploader"] input[type="file"]').last.set_input_files(
        files=[{"name": "our_rms.csv", "mimeType": "text/csv", "buffer": csv.encode()}])
    idle(page)
    page.get_by_text("1 result(s) read from our").wait_for()
    page.get_by_text("--rm-results our_rms.csv --method regression").wait_for()
    bad = "hf_id,method,chat,chat_hard,safety,reasoning\ngoogle/gemma-2-2b-it,bradley_terry,91.3,55,80,700\n"
    page.locator('[data-testid="stFileUploader"] input[type="file"]').last.set_input_files(
        files=[{"name": "bad.csv", "mimeType": "text/csv", "buffer": bad.encode()}])
    idle(page)
    page.get_by_text("bad.csv, row 2, field 'reasoning': 700 is outside 0-100").wait_for()
    assert page.locator('[data-testid="stException"]').count() == 0
    page.screenshot(path=str(tmp_path / "own_results_check.png"), full_page=True)


# --- issue 26, items 9-10: the analysis figures in the light and the dark theme (W3) ---------------------
THEMED = [  # (page path, its browser-tab title, a figure's title on it, the screenshot's name)
    ("rm_results", "Reward-model results · rm-advisor", "Gains over the Llama-3.x baseline", "fig2_gains"),
    ("benchmarks", "Benchmarks vs RM quality · rm-advisor", "Coverage of the top-k reward models", "fig4_coverage"),
    ("evidence", "Evidence · rm-advisor", "Do the intervals cover what they claim?", "evidence_calibration")]


def _drawn(page, figure_title: str):
    """The chart titled ``figure_title`` once the page's run is over and plotly has drawn it (no fixed wait)."""
    chart = page.locator('[data-testid="stPlotlyChart"]').filter(has_text=figure_title).first
    chart.locator(".main-svg").first.wait_for()
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden", timeout=60_000)
    page.wait_for_function("() => [...document.querySelectorAll('[data-testid=stDataFrame]')]"
                           ".filter(e => e.checkVisibility()).every(e => e.querySelector('canvas'))")
    return chart


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_figures_follow_the_system_theme_with_page_titles_and_font_icons(server, browser, scheme, tmp_path):
    """The app follows the browser's colour scheme (no theme forced), each page names itself in the browser
    tab, the sidebar icons are drawn by the bundled Material Symbols font (no emoji font needed), and Fig. 2,
    the coverage plot and the calibration chart draw in both themes; the menu switches to the other theme.
    Element screenshots of each chart and the
    Table 1 section go to $RM_ADVISOR_SCREENSHOTS (docs/img/ takes its pictures from there) or the tmp dir."""
    shots = Path(os.environ.get("RM_ADVISOR_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1366, "height": 1400}, color_scheme=scheme)  # Fig. 2 whole
    try:
        page.set_default_timeout(60_000)
        for path, title, figure_title, name in THEMED:
            page.goto(f"{server}/{path}")
            chart = _drawn(page, figure_title)
            assert page.locator('[data-testid="stException"]').count() == 0, path
            page.wait_for_function("t => document.title === t", arg=title)  # each page names itself
            chart.screenshot(path=str(shots / f"{name}_{scheme}.png"))
        background = page.evaluate("() => getComputedStyle(document.querySelector('[data-testid=stApp]'))"
                                   ".backgroundColor")
        channels = [int(c) for c in re.findall(r"\d+", background)[:3]]
        assert (sum(channels) < 150) == (scheme == "dark"), background  # the system's scheme, not a forced one
        assert page.evaluate("async () => { await document.fonts.ready; return [...document.fonts].some("
                             "f => f.family.includes('Material Symbols') && f.status === 'loaded'); }")
        icon = page.locator('[data-testid="stSidebarNav"] a [data-testid="stIconMaterial"]').first
        assert "Material Symbols" in icon.evaluate("e => getComputedStyle(e).fontFamily")
        page.goto(f"{server}/rm_results")
        _drawn(page, THEMED[0][2])
        table1 = page.locator('xpath=//h3[contains(., "Post-training stages (Table 1)")]'
                              '/following::*[@data-testid="stDataFrame"][1]')
        table1.locator("canvas").first.wait_for()
        table1.screenshot(path=str(shots / f"table1_{scheme}.png"))
        page.locator('[data-testid="stMainMenu"]').click()  # the menu's theme switch: the other scheme
        switch = page.locator('[data-testid="stThemeSwitcher"] [role="menuitemradio"]')
        assert [t.split()[-1] for t in switch.all_inner_texts()] == ["System", "Light", "Dark"]
        page.locator(f'[data-testid="stMainMenuItem-theme-{"Light" if scheme == "dark" else "Dark"}"]').click()
        page.wait_for_function("d => (getComputedStyle(document.querySelector('[data-testid=stApp]'))"
                               ".backgroundColor.match(/\\d+/g).slice(0, 3).reduce((a, c) => a + +c, 0) < 150) === d",
                               arg=scheme != "dark")
    finally:
        page.close()


# --- issue 26: state that survives, links, the editor at 1366 px, the picker --------------------------------
LAPTOP = {"width": 1366, "height": 900}


def pick_panel(page):
    return page.get_by_role("tabpanel", name="Pick from the Open LLM Leaderboard")


def tick_rows(page, rows: list[int]) -> None:
    """Tick rows of the picker's table with the boxes on their left (drawn on a canvas: by position)."""
    table = pick_panel(page).locator('[data-testid="stDataFrame"]').first
    table.scroll_into_view_if_needed()
    for r in rows:
        box = table.bounding_box()
        page.mouse.click(box["x"] + ROW_MARKER / 2, box["y"] + HEADER + ROW * r + ROW / 2)
        idle(page)


def method_radio(page):
    """The training-method radio (the page's first)."""
    return page.locator('[data-testid="stRadio"]').first


def metric_values(page) -> list[str]:
    return page.locator('[data-testid="stMetricValue"]').all_inner_texts()


def test_inputs_survive_the_evidence_page_and_a_link_reproduces_the_picks(server, browser, app_db, tmp_path):
    """Issue 26's must-shows in the browser, at 1366 px: the typed table fits and nothing ranks before its
    button; "load the example", the Evidence page and back: the candidates and the method are still there;
    the picker finds meta-llama/Llama-3.1-8B-Instruct by typing it and "official providers only" leaves
    only official gemma-2 rows; the URL opened in a fresh browser shows the same picked comparison."""
    from advisor.db import queries

    shots = screenshots(tmp_path)
    context = browser.new_context(viewport=LAPTOP)
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(server)
    page.get_by_text("No candidates yet").wait_for()
    idle(page)
    grid = page.locator('[data-testid="stDataFrame"]').first
    panel = page.get_by_role("tabpanel", name="Type candidates").bounding_box()
    box = grid.bounding_box()
    assert box["x"] >= panel["x"] and box["x"] + box["width"] <= panel["x"] + panel["width"]  # no column hidden
    assert box["width"] == sum(EDITOR_WIDTHS) + 40
    shot(page, shots / "predict_inputs.png")

    page.get_by_role("button", name="Load the example: 20 recent models").click()
    page.get_by_text("Candidates ranked").wait_for()
    metric_shows(page, 2, "3")  # Qwen3-4B, Qwen3-4B-Base, Qwen3-1.7B-Base: size unknown, not ranked
    method_radio(page).get_by_text("Bradley-Terry", exact=True).click()  # the label: the input is hidden
    metric_shows(page, 1, "0")  # Bradley-Terry has no skill here: nothing is ranked by it
    before = metric_values(page)

    page.get_by_role("link", name="Evidence").click()
    page.get_by_role("heading", name="Evidence: how far to trust the predictions").first.wait_for()
    idle(page)
    page.get_by_role("link", name="Predict & shortlist").click()
    page.get_by_text("Candidates ranked").wait_for()
    idle(page)
    assert page.get_by_role("radio", name="Bradley-Terry").is_checked()
    assert metric_values(page) == before
    page.get_by_role("tab", name="Upload CSV / lm-eval JSON").click()
    page.get_by_text("Kept for this session (1)").wait_for()
    assert page.url.endswith("/?method=bradley_terry")

    page.get_by_role("tab", name="Pick from the Open LLM Leaderboard").click()
    search = page.get_by_label("Search every model id (words in any order)")
    search.fill("meta-llama/Llama-3.1-8B-Instruct")
    search.press("Enter")
    page.get_by_text(re.compile(r"^1 of 4,497 leaderboard models match")).wait_for()
    tick_rows(page, [0])
    page.get_by_role("button", name="Add 1 selected").click()
    page.get_by_text("Picked (1): remove one with its ×").wait_for()
    search.fill("gemma-2")
    search.press("Enter")
    lb = queries.leaderboard(app_db)
    official = queries.filter_leaderboard(lb, "gemma-2", official_only=True, hide_reward_models=True)
    page.get_by_role("switch", name="Official providers only").click(force=True)
    page.get_by_text(re.compile(rf"^{len(official)} of 4,497 leaderboard models match")).wait_for()
    assert not official["hf_id"].str.startswith("zelk12/").any() and not official["reward_model"].any()
    idle(page)
    shot(page, shots / "predict_picker.png", pick_panel(page))
    tick_rows(page, [1])
    page.get_by_role("button", name="Add 1 selected").click()
    page.get_by_text("Picked (2): remove one with its ×").wait_for()
    idle(page)
    picked = ["meta-llama/Llama-3.1-8B-Instruct", official["hf_id"].iloc[1]]
    assert page.url.split("?")[1] == "&".join(f"pick={p.replace('/', '%2F')}" for p in picked) + "&method=bradley_terry"
    link = page.url
    context.close()

    fresh = browser.new_context(viewport=LAPTOP)  # another browser session: nothing of the first one's state
    page = fresh.new_page()
    page.set_default_timeout(60_000)
    try:
        page.goto(link)
        page.get_by_text("Candidates ranked").wait_for()
        idle(page)
        assert page.get_by_role("radio", name="Bradley-Terry").is_checked()
        measured = queries.measured_scores(app_db, method="bradley_terry").index
        assert set(picked) <= set(measured)  # paper models: ranked by their measured Bradley-Terry RMs
        assert metric_values(page)[1:] == ["2", "0"]  # ranked, not ranked
        page.get_by_role("tab", name="Pick from the Open LLM Leaderboard").click()
        chips = pick_panel(page).get_by_text("Picked (2): remove one with its ×")
        chips.wait_for()
        chips = pick_panel(page).locator('[data-testid="stMultiSelectTagsContainer"] [data-tag]').all()
        assert [c.get_attribute("aria-label") for c in chips] == picked
        assert page.locator('[data-testid="stException"]').count() == 0
    finally:
        fresh.close()


# --- issue 26, items 3-7 (the decision table; W2's scenario): the output half of the Predict page ----------

EXAMPLE = ROOT / "data" / "examples" / "recent_bases.csv"
DECISION_SHOTS = [("Verdict", "What to measure next", "predict_table"),  # (from heading, to heading, file)
                  ("What to measure next", "Cost against quality", "predict_next"),
                  ("Cost against quality", "Export the shortlist", "predict_cost")]


def _section(page, start: str, end: str, path: Path) -> None:
    """Screenshot of the page from heading ``start`` down to heading ``end`` (the page is one tall viewport)."""
    top = page.get_by_role("heading", name=start).first.bounding_box()
    bottom = page.get_by_role("heading", name=end).first.bounding_box()
    main = page.locator('[data-testid="stMainBlockContainer"]').bounding_box()
    page.screenshot(path=str(path), clip={"x": main["x"], "y": top["y"] - 8, "width": main["width"],
                                          "height": bottom["y"] - top["y"]})


def test_decision_views_of_the_example_at_1366_px_and_their_screenshots(server, browser, tmp_path):
    """The README's example uploaded at 1366 px: the reading table, what to measure next (worked out on the
    click), cost against quality, why it ranks here and the compact Markdown render without an exception;
    their screenshots go to $RM_ADVISOR_SCREENSHOTS (docs/img/predict_*.png are these)."""
    shots = Path(os.environ.get("RM_ADVISOR_SCREENSHOTS") or tmp_path / "screenshots")
    shots.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1366, "height": 6000})  # tall: every section in view at once
    page.set_default_timeout(600_000)  # the example's top group is 17 rows: dozens of new patterns
    try:
        page.goto(server)
        page.get_by_text("No candidates yet").wait_for()
        page.get_by_role("tab", name="Upload CSV / lm-eval JSON").click()
        page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(str(EXAMPLE))
        page.get_by_role("heading", name="Verdict").wait_for()
        idle(page)
        work = page.get_by_role("button", name=re.compile(r"^Work it out"))
        lines = page.get_by_text(re.compile(r": measure .+ next \((lm-eval task|no GPU)"))
        work.or_(lines).first.wait_for()  # new input patterns to evaluate are asked for with a button
        if work.count():
            work.click()
        lines.first.wait_for()
        work.wait_for(state="detached")  # the page reruns once the lines are worked out
        idle(page)
        page.locator('[data-testid="stExpander"] summary').filter(has_text="Why it ranks here").click()
        page.get_by_text("from the known models' mean").first.wait_for()
        page.get_by_text("Preview (Markdown)").click()
        preview = page.locator('[data-testid="stCode"]').last
        preview.wait_for()
        idle(page)
        page.locator(".js-plotly-plot").last.wait_for()
        assert page.locator('[data-testid="stException"]').count() == 0
        text = preview.inner_text()
        assert text.startswith("Verdict:") and len(text.splitlines()) < 40
        for start, end, name in DECISION_SHOTS:
            _section(page, start, end, shots / f"{name}.png")
        page.locator('[data-testid="stExpander"]').filter(has_text="Why it ranks here").screenshot(
            path=str(shots / "predict_why.png"))
        preview.screenshot(path=str(shots / "predict_markdown.png"))
        assert all((shots / f"{n}.png").stat().st_size > 10_000 for n in
                   ["predict_table", "predict_next", "predict_cost", "predict_why", "predict_markdown"])
    finally:
        page.close()
