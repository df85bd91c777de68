"""What a reader sees on each built chapter page follows the book's teaching conventions.

Reads ``_build/html`` (no browser) and fails a chapter page that

- does not open with its objectives (an admonition of class ``objectives`` before the first
  section) or has no ``Summary`` section after its other sections (only ``Exercises`` may follow);
- shows a code cell (one not folded by ``hide-input``) whose code contains ``glue(``;
- numbers a figure, table or exercise other than "<chapter>.<k>", with k counting 1, 2, 3, ...
  in the page's order (numbers restart in every chapter);

and fails the lab unless it shows six prediction prompts (admonitions of class ``predict``) and six
answers folded in dropdowns (class ``answer``), each prompt before its answer. Usage::

    python checks/pages.py [--html _build/html]
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from bs4 import BeautifulSoup

FOLDED = {"tag_hide-input", "tag_hide-cell"}
NUMBERED = re.compile(r"^(Fig\.|Table|Exercise|Solution to Exercise)\s+(\d+)\.(\d+)")


def chapters(html: Path) -> list[tuple[int, str]]:
    """(number, page) of the numbered chapters, read from the pages' own titles ("1. The PyTorch library")."""
    toc = (html.parent.parent / "_toc.yml").read_text() if (html.parent.parent / "_toc.yml").exists() else ""
    names = re.findall(r"^\s*-\s*file:\s*(\S+)", toc, flags=re.M)
    numbered = toc.split("numbered: true", 1)[1].split("caption:", 1)[0] if "numbered: true" in toc else ""
    return [(i, name) for i, name in enumerate(re.findall(r"file:\s*(\S+)", numbered), start=1) if name in names]


def problems(page: Path, number: int) -> list[str]:
    soup = BeautifulSoup(page.read_text(), "html.parser")
    main = soup.select_one("main") or soup
    found = []
    sections = [s for s in main.select("section[id]") if s.find(re.compile("^h2$"), recursive=False)]
    titles = [re.sub(r"^(\d+\.)+\s*", "", s.find("h2", recursive=False).get_text(" ", strip=True).rstrip("#").strip())
              for s in sections]                  # "8.3. Summary#" -> "Summary"
    objectives = main.select_one(".admonition.objectives")
    if objectives is None:
        found.append("no objectives box")
    elif sections and objectives.find_parent("section") in sections:
        found.append("the objectives are inside a section, not at the top")
    if "Summary" not in titles:
        found.append(f"no Summary section (sections: {titles})")
    elif titles[titles.index("Summary") + 1:] not in ([], ["Exercises"]):
        found.append(f"sections after the Summary: {titles[titles.index('Summary') + 1:]}")
    for cell in main.select("div.cell"):
        if FOLDED & set(cell.get("class", [])):
            continue
        code = cell.select_one("div.cell_input")
        if code is not None and "glue(" in code.get_text():
            found.append(f"a visible code cell calls glue: {code.get_text().strip()[:60]!r}")
    counters: dict[str, int] = {}
    seen = set()
    for caption in main.select(".caption-number, .exercise .admonition-title, .solution .admonition-title"):
        match = NUMBERED.match(caption.get_text(" ", strip=True))
        if not match:
            continue
        kind, chapter, k = match[1], int(match[2]), int(match[3])
        if kind == "Solution to Exercise" or (kind, chapter, k) in seen:
            continue                          # a solution, or a title's own number span, repeats the number
        seen.add((kind, chapter, k))
        counters[kind] = counters.get(kind, 0) + 1
        if (chapter, k) != (number, counters[kind]):
            found.append(f"{kind} {chapter}.{k} where {number}.{counters[kind]} belongs")
    if page.stem == "lab":
        prompts = main.select(".admonition.predict")
        answers = main.select("details.answer, .answer details, details.sd-dropdown.answer")
        if len(prompts) != 6 or len(answers) != 6:
            found.append(f"{len(prompts)} prediction prompts and {len(answers)} folded answers; six of each expected")
        text = str(main)
        for prompt, answer in zip(prompts, answers):
            if text.find(str(prompt)) > text.find(str(answer)):
                found.append("an answer comes before its prediction prompt")
    return [f"{page.name}: {line}" for line in found]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--html", type=Path, default=Path("_build/html"))
    args = parser.parse_args()
    pages = chapters(args.html.resolve())
    if not pages:
        print(f"pages check: no numbered chapters found from {args.html}", file=sys.stderr)
        return 1
    found = [line for number, name in pages for line in problems(args.html / f"{name}.html", number)]
    print("\n".join(found) or f"pages check: {len(pages)} chapter pages open with objectives, end with a summary, "
          f"show no glue call and number per chapter; the lab asks six questions before it answers them")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
