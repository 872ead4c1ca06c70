"""`xlflow sample`: write realistically filled sample workbooks (fictional data)."""
from __future__ import annotations

from pathlib import Path

import click

from xlflow.errors import XlflowError


class Failure(click.ClickException):
    """A failed call (bad option, unwritable output): exit code 2."""

    exit_code = 2


def _seconds(value: float) -> str:
    return f"{value:.1f}".replace(".", ",")


def describe_school(result) -> list[str]:
    """Russian lines about one school's sample files."""
    school = result.school
    groups = sum(1 for p in school.programmes if p.group_type == "группа")
    pairs = len(school.programmes) - groups
    return [
        f"Школа {school.school_code} {school.school_name} ({school.municipality}), "
        f"учебный год {school.academic_year}:",
        f"  книга школы (реестр): {result.registry_path}",
        f"  копий: {len(school.copies)} (пар: {pairs}, групп: {groups}), "
        f"с ошибками: {len(school.faulty_copies)}",
        f"  папка: {result.out_dir}",
    ]


@click.command(name="sample")
@click.option("--count", "count", type=int, default=20, show_default=True,
              help="Сколько заполненных копий программ написать (на одну школу).")
@click.option("--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Папка для примеров.")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Число, от которого зависят данные: один и тот же --seed даёт те же файлы.")
@click.option("--errors", "errors", default="0", show_default=True, metavar="ДОЛЯ",
              help="Доля копий с типичными ошибками заполнения: от 0 до 1 (0.2 или 0,2) или в процентах (20%).")
@click.option("--schools", type=int, default=1, show_default=True,
              help="Сколько школ одного муниципалитета создать (каждая в своей подпапке).")
@click.option("--jobs", type=int, default=None,
              help="Сколько процессов пишут файлы (по умолчанию — по числу ядер).")
def command(count: int, out: Path, seed: int, errors: str, schools: int, jobs: int | None) -> None:
    """Создать заполненные примеры книг с вымышленными данными: книгу школы и копии программ."""
    from xlflow.writing.sample import write_municipality_samples, write_samples

    try:
        rate = parse_rate(errors)
        _check(count, schools)
        if schools == 1:
            result = write_samples(out, count, seed=seed, error_rate=rate, jobs=jobs, keep_records=False)
            results, seconds, n_files, used = [result], result.seconds, len(result.files), result.jobs
        else:
            many = write_municipality_samples(out, schools, count, seed, error_rate=rate, jobs=jobs,
                                              keep_records=False)
            results, seconds, n_files, used = many.schools, many.seconds, len(many.files), many.jobs
    except XlflowError as exc:
        raise Failure(exc.message) from exc
    except OSError as exc:
        raise Failure(f"Не удалось записать примеры в {out}: {exc.strerror or exc}.") from exc
    for result in results:
        click.echo("\n".join(describe_school(result)))
        others = sorted(set(result.out_dir.glob("*.xlsx")) - set(result.files))
        if others:
            click.echo(f"  внимание: в папке есть и другие книги ({len(others)}), например «{others[0].name}»; "
                       "они не изменены. Для чистого примера укажите пустую папку.")
    as_of = results[0].school.as_of
    click.echo(f"Записано файлов: {n_files} за {_seconds(seconds)} с "
               f"({1000 * seconds / n_files:.0f} мс на книгу, процессов: {used}).")
    click.echo(f"Данные вымышленные. Сроки отмечены на {as_of:%d.%m.%Y}: для сводки укажите "
               f"xlflow collect ... --as-of {as_of:%d.%m.%Y}")


def parse_rate(text: str) -> float:
    """«0.2», «0,2» or «20%» -> 0.2; XlflowError unless it lies in [0, 1]."""
    raw = text.strip().replace(",", ".")
    percent = raw.endswith("%")
    try:
        value = float(raw.rstrip("%").strip()) / (100 if percent else 1)
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 1.0:
        raise XlflowError(f"Доля копий с ошибками (--errors) «{text}» должна быть от 0 до 1 "
                          "(например 0.2 или 0,2) или в процентах (20%).")
    return value


def _check(count: int, schools: int) -> None:
    if count < 1:
        raise XlflowError("Число копий (--count) должно быть не меньше 1.")
    if schools < 1:
        raise XlflowError("Число школ (--schools) должно быть не меньше 1.")
