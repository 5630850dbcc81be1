"""Every code block of README.md and docs/**/*.md runs as written, and what it prints is what the page
shows (the conventions are in docs/contributing.md; tests/docs/doc_blocks.py reads them).

One test per page: its blocks run in page order, the python ones in one namespace (as a reader pasting
them into one session), the shell ones with the `lrkit` of this environment, all in a fresh folder.
"""

from __future__ import annotations

import contextlib
import doctest
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from doc_blocks import OUTPUT, RUN, SHELL, SHOWN, Block, PageError, commands, is_doctest, is_slow, parse, visible_text

ROOT = Path(__file__).parents[2]
PAGES = sorted([ROOT / "README.md", *(ROOT / "docs").rglob("*.md")])
TIMEOUT = 900  # seconds for one shell command

# Pages that another change is rewriting at the time of writing and that do not follow the conventions
# yet: they are not run (a `my_train.py` to write, `open` and `ray start` lines, `lrkit experiment all`
# at full size). Once a page carries its directives, delete its line here.
PENDING: dict[str, str] = {}


def pages():
    for page in PAGES:
        rel = page.relative_to(ROOT).as_posix()
        marks = []
        try:
            if is_slow(parse(page)):
                marks.append(pytest.mark.slow)
        except (PageError, SyntaxError):
            pass  # the test reports it
        if rel in PENDING:
            marks.append(pytest.mark.xfail(run=False, reason=PENDING[rel]))
        yield pytest.param(page, id=rel, marks=marks)


@pytest.mark.parametrize("page", list(pages()))
def test_every_block_runs_as_written(page, tmp_path, monkeypatch):
    blocks = parse(page)
    preflight(page, blocks)
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "__docs__"}
    for block in blocks:
        where = f"{page.relative_to(ROOT)}:{block.line}"
        if block.skip or block.lang in SHOWN:
            continue
        if block.file:
            Path(block.file).parent.mkdir(parents=True, exist_ok=True)
            Path(block.file).write_text(block.text)
            continue
        if block.lang in SHELL:
            printed = run_shell(block, where)
        else:
            printed = run_python(block, namespace, page, where)
        if block.output is not None:
            check_output(block.output.text, printed, where)


def preflight(page: Path, blocks: list[Block]) -> None:
    """The page's shell blocks follow the conventions, checked before anything runs."""
    text = visible_text(page)
    for block in blocks:
        where = f"{page.relative_to(ROOT)}:{block.line}"
        if block.lang not in SHELL or block.skip or block.file:
            continue
        if block.faster is not None:
            assert block.faster in text, f"{where}: runs with `{block.faster}`, which the page does not say"
        for command in commands(block.text):
            assert command.split()[0] == "lrkit", (f"{where}: only `lrkit` commands run here; give `{command}` "
                                                   f"its own block marked `<!-- test: skip REASON -->`")


def run_python(block: Block, namespace: dict, page: Path, where: str) -> str:
    """Run one python block (or hidden setup/check code) in the page's namespace; returns what it printed."""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        if is_doctest(block.text):
            test = doctest.DocTestParser().get_doctest(block.text, namespace, where, str(page), block.line - 1)
            runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
            report: list[str] = []
            runner.run(test, out=report.append, clear_globs=False)
            namespace.update(test.globs)  # the DocTest ran on a copy
            if runner.failures:
                pytest.fail(f"{where}: the session does not print what the page shows\n{''.join(report)}")
        else:
            code = compile("\n" * (block.line - 1) + block.text, str(page), "exec")
            exec(code, namespace)  # noqa: S102 - our own docs
    return printed.getvalue()


def run_shell(block: Block, where: str) -> str:
    """Run each command of a shell block with bash; returns their stdout (stderr when they must fail)."""
    env = {**os.environ, "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")}
    printed = ""
    for command in commands(block.text):
        if block.faster and command.startswith("lrkit "):
            command += " " + block.faster
        p = subprocess.run(["bash", "-c", command], capture_output=True, text=True, env=env, timeout=TIMEOUT)
        assert p.returncode == block.exit, (f"{where}: `{command}` exited with {p.returncode}, "
                                            f"not {block.exit}\n{p.stdout[-2000:]}\n{p.stderr[-3000:]}")
        printed += p.stdout if block.exit == 0 else p.stderr
    return printed


def check_output(want: str, got: str, where: str) -> None:
    """``got`` is ``want`` line by line (trailing spaces aside; ``...`` stands for any text, as in doctest)."""
    def lines(s: str) -> str:
        return "\n".join(line.rstrip() for line in s.strip("\n").split("\n")) + "\n"

    ok = doctest.OutputChecker().check_output(lines(want), lines(got), doctest.ELLIPSIS)
    assert ok, f"{where}: the block printed\n{got}\nbut the {OUTPUT} block under it shows\n{want}"


def test_the_conventions_hold_on_every_page():
    """Without running anything: every fence names its language, directives are known and placed, skips
    give reasons, and only `lrkit` commands are left to run."""
    for page in PAGES:
        if page.relative_to(ROOT).as_posix() not in PENDING:
            preflight(page, parse(page))


def test_run_and_shell_languages_are_the_documented_ones():
    guide = (ROOT / "docs" / "contributing.md").read_text()
    for lang in sorted(RUN | SHELL | {OUTPUT}):
        assert f"```{lang}" in guide, lang
