"""The whole path on bundled sample data (``xlflow demo``).

:func:`run_demo` makes, in one folder: an empty workbook (``new``); the filled
registries and programme copies of several fictional schools of one
municipality (``sample``); the copies a curator hands out (``split``); the
validation of one school's files with an annotated copy of a faulty one
(``validate``); a summary per school (``collect``) and the municipal workbook
(``merge``). The steps are told in the order of the real work (new, registry,
split, filled copies, validate, collect, merge), though the sample data that
plays the users' part is generated first. Each step is returned as a :class:`DemoStep` with the files it
made and the command a user would type to do the same by hand.
"""
from __future__ import annotations

import datetime as dt
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from xlflow.errors import XlflowError
from xlflow.fileio import write_text_atomic

if TYPE_CHECKING:
    from xlflow.problems import Problem
    from xlflow.writing.sample import MunicipalitySample, SampleResult, SampleSchool

DEFAULT_OUT = "xlflow-demo"
SEED = 2025
SCHOOLS = 3
COPIES_PER_SCHOOL = 10
ERROR_RATE = 0.2

NEW_DIR = "1 Новая книга"
SCHOOLS_DIR = "2 Школы"
SPLIT_DIR = "3 Копии для раздачи"
CHECK_DIR = "4 Проверка"
SUMMARY_DIR = "5 Сводки школ"
MUNICIPAL_DIR = "6 Муниципалитет"
FILE_STATUSES = (("accepted", "принято"), ("accepted_with_problems", "с замечаниями"),
                 ("duplicate", "повторов"), ("superseded", "заменено"), ("rejected", "отклонено"),
                 ("skipped", "пропущено"))
STEP_DIRS = (NEW_DIR, SCHOOLS_DIR, SPLIT_DIR, CHECK_DIR, SUMMARY_DIR, MUNICIPAL_DIR)
MARKER = ".xlflow-demo"


@dataclass
class DemoStep:
    title: str  # Russian: what was done
    command: str  # what a user would type to do it by hand
    paths: list[Path] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)  # Russian details


@dataclass
class DemoResult:
    out_dir: Path
    as_of: dt.date
    steps: list[DemoStep]
    seconds: float

    @property
    def paths(self) -> list[Path]:
        return [p for s in self.steps for p in s.paths]

    def text(self) -> str:
        out = [f"xlflow demo: весь путь на вымышленных данных (школ: {SCHOOLS}, сроки на "
               f"{self.as_of:%d.%m.%Y}). Папка: {self.out_dir}", ""]
        for n, step in enumerate(self.steps, start=1):
            out.append(f"{n}. {step.title}")
            out += [f"   {line}" for line in step.lines]
            out += [f"   → {p}" for p in step.paths]
            out.append(f"   Вручную: {step.command}")
            out.append("")
        seconds = f"{self.seconds:.1f}".replace(".", ",")
        out.append(f"Готово за {seconds} с. Откройте файлы в Excel или LibreOffice.")
        return "\n".join(out)


def _q(path: Path | str) -> str:
    """A path quoted for the shell when it has spaces."""
    text = os.fspath(path)
    return f'"{text}"' if any(ch.isspace() for ch in text) else text


# ---------------------------------------------------------------------- steps

def step_new(out: Path, school: SampleSchool) -> DemoStep:
    from xlflow.writing.programme import WorkbookOptions, write_programme_workbook

    path = out / NEW_DIR / "Новая книга школы.xlsx"
    options = WorkbookOptions(school_name=school.school_name, school_code=school.school_code,
                              academic_year=school.academic_year, municipality=school.municipality)
    write_programme_workbook(path, options)
    command = (f'xlflow new {_q(path)} --school "{school.school_name}" --school-code {school.school_code} '
               f'--municipality "{school.municipality}" --year {school.academic_year}')
    return DemoStep("new — пустая книга программы наставничества для школы (листы, списки, защита).",
                    command, [path])


def step_sample(out: Path, jobs: int | None) -> tuple[DemoStep, DemoStep, MunicipalitySample]:
    """The curators' filled registries and the teachers' filled copies (two steps of the story)."""
    from xlflow.writing.sample import write_municipality_samples

    sample = write_municipality_samples(out / SCHOOLS_DIR, SCHOOLS, COPIES_PER_SCHOOL, SEED,
                                        error_rate=ERROR_RATE, jobs=jobs)
    command = (f"xlflow sample --count {COPIES_PER_SCHOOL} --schools {SCHOOLS} --seed {SEED} "
               f"--errors {ERROR_RATE} --out {_q(out / SCHOOLS_DIR)}")
    registries = DemoStep(
        f"Куратор заполнил книгу школы: банки наставников и наставляемых (с согласиями), пары и группы "
        f"с приказами. Школ в примере: {SCHOOLS} ({sample.schools[0].school.municipality}).",
        command, [s.registry_path for s in sample.schools],
        [f"{s.school.school_code}: наставников {len(s.school.registry['mentors'])}, наставляемых "
         f"{len(s.school.registry['mentees'])}, программ {len(s.school.programmes)}" for s in sample.schools])
    filled = DemoStep(
        "Учителя заполнили свои копии: паспорт программы, диагностику на входе и в конце, дорожную карту "
        "с отметками, рубрику, рефлексию. Часть копий — с типичными ошибками заполнения.",
        command, [s.out_dir for s in sample.schools],
        [f"{s.school.school_code} {s.school.school_name}: копий {len(s.school.copies)}, с ошибками "
         f"{len(s.school.faulty_copies)}" for s in sample.schools] + like_real_folders(sample))
    return registries, filled, sample


def like_real_folders(sample: MunicipalitySample) -> list[str]:
    """Make the folders look like what curators really get back: one copy of the
    second school never came back; the third school has a copy sent twice and a
    stray letter. Returns Russian lines saying so."""
    lines = []
    if len(sample.schools) > 1:
        second = sample.schools[1]
        lost = second.copy_paths[-1]
        lost.unlink()
        lines.append(f"{second.school.school_code}: копия «{lost.name}» не вернулась к куратору")
    if len(sample.schools) > 2:
        third = sample.schools[2]
        original = third.copy_paths[0]
        again = original.with_name(f"{original.stem} (отправлено повторно).xlsx")
        shutil.copyfile(original, again)
        write_text_atomic(third.out_dir / "Письмо куратору.txt", "Добрый день! Высылаю заполненную копию.\n")
        lines.append(f"{third.school.school_code}: копия «{original.name}» прислана дважды, "
                     "в папке ещё и письмо (.txt)")
    return lines


def step_split(out: Path, registry: Path) -> DemoStep:
    from xlflow.writing.split import split_school_workbook

    target = out / SPLIT_DIR
    made = split_school_workbook(registry, target, overwrite=True)
    return DemoStep(
        "split — из книги школы сделаны копии для каждой пары и для каждого участника группы "
        "(программа и люди уже вписаны и защищены от изменений); их раздают учителям.",
        f"xlflow split {_q(registry)} {_q(target)} --force", [target], [f"копий: {len(made)}"])


def step_dump(out: Path, school_result: SampleResult) -> DemoStep:
    import json

    from xlflow.reading.programme import read_programme

    copy = next((p for c, p in zip(school_result.school.copies, school_result.copy_paths) if not c.mistakes),
                school_result.copy_paths[0])
    data = read_programme(copy).data
    target = out / CHECK_DIR / f"{copy.stem}.json"
    write_text_atomic(target, json.dumps(data, ensure_ascii=False, indent=2) + "\n")
    computed = data["computed"]
    lines = [f"«{copy.name}»: мероприятий {computed['roadmap_items']}, выполнено {computed['roadmap_done']}; "
             f"записей диагностики {len(data['diagnostics'])}; рубрика: "
             f"{computed['rubric_total'] if computed['rubric_total'] is not None else '—'} баллов"]
    return DemoStep(
        "dump — записи заполненной копии в JSON: то, что видят проверка и сводки (итоги пересчитаны "
        "по введённым значениям, а не взяты из формул).",
        f"xlflow dump {_q(copy)} > {_q(target)}", [target], lines)


def step_validate(out: Path, school_result: SampleResult) -> DemoStep:
    from xlflow.validation.annotate import annotate_workbook, annotation_targets
    from xlflow.validation.validate import validate_files_detailed

    school = school_result.school
    report, results = validate_files_detailed([str(p) for p in school_result.files], today=school.as_of)
    target_dir = out / CHECK_DIR
    target_dir.mkdir(parents=True, exist_ok=True)
    report_path = target_dir / "Отчёт проверки.txt"
    write_text_atomic(report_path, report.to_text() + "\n")
    faulty = [r for r in results if not r.ok]
    lines = [f"проверено файлов: {len(results)}; без ошибок: {len(results) - len(faulty)}; "
             f"с ошибками: {len(faulty)} (ошибок: {len(report.errors)}, предупреждений: {len(report.warnings)})"]
    paths = [report_path]
    command = f"xlflow validate {_q(school_result.out_dir)}"
    if faulty:
        first = faulty[0]
        target = annotation_targets([first.path], target_dir)[first.path]
        paths.append(annotate_workbook(first.path, first.problems, target))
        lines.append(f"пример — «{Path(first.path).name}»:")
        lines += [f"  {_place(p)}: {p.message}" for p in first.problems[:3]]
        command += f"; xlflow validate {_q(first.path)} --annotate {_q(target_dir)}"
    return DemoStep(
        "validate — проверка книг одной школы: каждая ошибка с листом и ячейкой; копия файла с ошибками, "
        "где неверные ячейки выделены цветом и снабжены примечаниями, и лист «Ошибки».",
        command, paths, lines)


def _place(problem: Problem) -> str:
    parts = []
    if problem.sheet:
        parts.append(f"лист «{problem.sheet}»")
    if problem.cell:
        parts.append(f"ячейка {problem.cell}")
    return ", ".join(parts) or "файл в целом"


def step_collect(out: Path, sample: MunicipalitySample, as_of: dt.date,
                 jobs: int | None) -> tuple[DemoStep, list[Path]]:
    from xlflow.consolidate.collect import collect

    summaries, lines = [], []
    for s in sample.schools:
        target = out / SUMMARY_DIR / f"Сводка {s.school.school_code}.xlsx"
        outcome = collect(s.out_dir, target, as_of=as_of, jobs=jobs)
        summaries.append(outcome.outputs[0])
        figs = outcome.payload["figures"]
        files = figs["files"]
        lines.append(f"{s.school.school_code}: наставников {figs['mentors']}, наставляемых {figs['mentees']}, "
                     f"пар {figs['pairs']}, групп {figs['groups']}; выполнено мероприятий "
                     f"{_percent(figs['roadmap'].get('completion_percent'))}")
        lines.append("  файлов: " + ", ".join(f"{label} {files[key]}" for key, label in FILE_STATUSES
                                               if files.get(key)) + f"; копий не сдано: {figs['copies_missing']}")
    first = sample.schools[0]
    step = DemoStep(
        "collect — сводка по каждой школе: статистика для форм, нагрузка, дефициты, дорожные карты, "
        "рубрика, программы, список файлов и ошибок; рядом — JSON и CSV.",
        f"xlflow collect {_q(first.out_dir)} --out {_q(summaries[0])} --as-of {as_of:%d.%m.%Y}",
        summaries, lines)
    return step, summaries


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} %".replace(".", ",")


def step_merge(out: Path, summaries: list[Path]) -> DemoStep:
    from xlflow.consolidate.merge import merge_summaries

    target = out / MUNICIPAL_DIR / "Муниципальная сводка.xlsx"
    result = merge_summaries(summaries, target)
    lines = [line for line in result.text().splitlines() if not line.startswith("Муниципальная книга")]
    return DemoStep(
        "merge — муниципальная книга: строка на школу, итоги, тепловая карта дефицитов, школы, "
        "требующие внимания (без персональных данных).",
        f"xlflow merge {_q(out / SUMMARY_DIR)} --out {_q(target)}",
        [Path(result.outputs["xlsx"])] if result.outputs else [], lines)


# ------------------------------------------------------------------- the path

def prepare_out(out: Path) -> None:
    """Make ``out`` ready: a new or empty folder, or the folder of an earlier
    demo (recognised by its marker file), whose step folders are then cleared
    so that no stale file mixes into the new run. Any other folder is refused."""
    if out.exists() and not out.is_dir():
        raise XlflowError(f"{out} — это файл. Укажите папку для демонстрации (--out).", code="out-not-dir")
    marker = out / MARKER
    if out.exists() and any(out.iterdir()) and not marker.exists():
        raise XlflowError(f"Папка {out} не пуста и не похожа на папку демонстрации xlflow. Укажите новую "
                          "или пустую папку (--out), чтобы не смешать демонстрацию с вашими файлами.",
                          code="demo-out-not-empty")
    for name in STEP_DIRS:
        if (out / name).is_dir():
            shutil.rmtree(out / name)
    out.mkdir(parents=True, exist_ok=True)
    write_text_atomic(marker, "Папка демонстрации xlflow (xlflow demo). При повторном запуске её "
                              "содержимое создаётся заново.\n")


def run_demo(out_dir: str | os.PathLike = DEFAULT_OUT, *, jobs: int | None = None) -> DemoResult:
    """Run the whole path into ``out_dir`` and describe what was made."""
    out = Path(out_dir)
    prepare_out(out)
    start = time.perf_counter()
    registries, filled, sample = step_sample(out, jobs)
    featured = sample.schools[0]
    as_of = featured.school.as_of
    steps = [step_new(out, featured.school), registries, step_split(out, featured.registry_path), filled,
             step_dump(out, featured), step_validate(out, featured)]
    collect_step, summaries = step_collect(out, sample, as_of, jobs)
    steps += [collect_step, step_merge(out, summaries)]
    return DemoResult(out, as_of, steps, time.perf_counter() - start)
