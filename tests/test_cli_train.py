"""`slipstream train` from the command line: inputs checked before anything is written."""

from __future__ import annotations

import json

from slipstream.cli import main

SMALL = [
    "--set",
    "num_episodes_between_training=2",
    "--set",
    "num_epochs=1",
    "--track",
    "slipstream_oval",
]


def test_train_one_iteration_from_the_cli(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "--run", str(run), "--iterations", "1", *SMALL]) == 0
    out = capsys.readouterr().out
    assert "iteration   0" in out and "done: 1 iterations" in out
    assert json.loads((run / "ip" / "hyperparameters.json").read_text())["num_epochs"] == 1
    assert (run / "training-simtrace" / "0-iteration.csv").exists()
    # running again into the same folder refuses and changes nothing
    before = sorted(p.name for p in (run / "model").iterdir())
    assert main(["train", "--run", str(run), "--iterations", "1", *SMALL]) == 2
    assert "--resume" in capsys.readouterr().err
    assert sorted(p.name for p in (run / "model").iterdir()) == before


def test_a_reward_function_that_raises_stops_before_training(tmp_path, capsys):
    rf = tmp_path / "reward_function.py"
    rf.write_text("def reward_function(params):\n    return params['speed'] / 0\n")
    run = tmp_path / "run"
    code = main(
        ["train", "--run", str(run), "--iterations", "1", "--reward-function", str(rf), *SMALL]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert "reward_function.py" in err and "line 2" in err and "ZeroDivisionError" in err
    assert not run.exists()


def test_unknown_track_and_bad_override_are_reported(tmp_path, capsys):
    run = str(tmp_path / "run")
    assert main(["train", "--run", run, "--iterations", "1", "--track", "nowhere"]) == 2
    assert "unknown track 'nowhere'" in capsys.readouterr().err
    assert main(["train", "--run", run, "--iterations", "1", "--set", "learning_rate=1"]) == 2
    assert "learning_rate" in capsys.readouterr().err
    assert main(["train", "--run", run]) == 2  # no stop condition


def test_a_track_set_is_read_once_and_a_bad_one_is_refused(tmp_path, capsys):
    import argparse

    from slipstream.commands.train import add_arguments, build_config

    def config(*extra):
        parser = argparse.ArgumentParser()
        add_arguments(parser)
        return build_config(parser.parse_args(["--run", "r", "--iterations", "1", *extra]))

    multi = config(
        "--tracks", "slipstream_oval,slipstream_t*", "generated", "--episodes-per-track", "3"
    )
    assert multi.track_set.names == ("slipstream_oval", "slipstream_technical")
    assert multi.track_set.generated and multi.episodes_per_track == 3
    assert multi.track == "slipstream_oval"  # in-training evaluation on the set's first track
    single = config("--tracks", "slipstream_technical")
    assert single.track_set is None and single.track == "slipstream_technical"
    run = tmp_path / "run"
    args = ["train", "--run", str(run), "--iterations", "1", "--tracks", "slipstream_ovl,generated"]
    assert main(args) == 2
    assert "Did you mean: slipstream_oval" in capsys.readouterr().err
    assert not run.exists()


def test_train_config_keeps_the_world_settings_once_in_its_world():
    from slipstream.config import as_reward_function, load_hyperparameters, load_model_metadata
    from slipstream.rollout.train_config import TrainConfig

    config = TrainConfig.build(
        run="r",
        model_metadata=load_model_metadata(None),
        hyperparameters=load_hyperparameters(None),
        reward_function=as_reward_function(None),
        world={"NUMBER_OF_OBSTACLES": "2", "MIN_EVAL_TRIALS": "3"},
        track="slipstream_oval",
        race_type="OBJECT_AVOIDANCE",
        workers=2,
    )
    w = config.world
    assert (w.WORLD_NAME, w.RACE_TYPE, w.NUM_WORKERS, w.NUMBER_OF_OBSTACLES) == (
        "slipstream_oval",
        "OBJECT_AVOIDANCE",
        2,
        2,
    )
    assert (config.track, config.race_type, config.workers, config.eval_episodes) == (
        "slipstream_oval",
        "OBJECT_AVOIDANCE",
        2,
        3,
    )
