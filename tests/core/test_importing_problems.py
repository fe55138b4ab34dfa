"""core.importing.problems: the kept list is capped, the counts are not; values are shortened for display."""

from __future__ import annotations

from valueloop.core.importing.problems import Problem, ProblemReport


def test_report__caps_the_list_but_counts_everything():
    report = ProblemReport(cap=3)
    for row in range(2, 12):
        report.add(row, "arr", "not a number", f"x{row}")
    report.add(None, "file", "mapping is incomplete")
    assert (report.count, len(report.problems), report.more, len(report.rows)) == (11, 3, 8, 10)
    assert report.by_field == {"arr": 10, "file": 1}
    assert report.row_has_problem(11) and not report.row_has_problem(12)
    assert not report.ok and ProblemReport().ok and len(report) == 11 and not ProblemReport()
    assert report.summary() == "11 problems in 10 rows (the first 3 are listed)."
    assert [p.row for p in report] == [2, 3, 4]


def test_problem__names_row_field_and_a_shortened_value():
    problem = ProblemReport().add(4, "email", "not an email address", "y" * 100)
    assert problem.value == "y" * 59 + "…"
    assert (
        str(Problem(4, "email", "not an email address", "bob@")) == "row 4 · email: not an email address (found 'bob@')"
    )
    assert Problem(None, "file", "empty").where() == "file"
    assert Problem(3, "text", "too long").where("line") == "line 3 · text"
    assert Problem(3, "text", "m", "v").as_dict() == {"row": 3, "field": "text", "message": "m", "value": "v"}
