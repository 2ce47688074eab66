from autograder.cli import main


def test_list_and_check(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "01_stereo" in out and "q4: Semi-global matching" in out
    assert main(["release", "--check"]) == 0
    assert "up to date" in capsys.readouterr().out


def test_errors_are_one_line_and_exit_2(capsys, tmp_path):
    assert main(["grade", "99_nothing", str(tmp_path), "--out", str(tmp_path / "r")]) == 2
    assert "no assignment '99_nothing'" in capsys.readouterr().err
    assert main(["grade", "01_stereo", str(tmp_path / "absent"), "--out", str(tmp_path / "r")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["grade", "01_stereo", str(tmp_path), "--out", str(tmp_path / "r")]) == 1
    assert "no submissions in" in capsys.readouterr().err
    assert main(["grade", "01_stereo", str(tmp_path), "--out", str(tmp_path / "r"), "--jobs", "0"]) == 2
    assert "--jobs must be at least 1" in capsys.readouterr().err
