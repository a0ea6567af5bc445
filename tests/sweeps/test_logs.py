import json
import math
import time
from pathlib import Path

import pytest

from sweeps.errors import MissingFileError
from sweeps.logs import LogFollower, detect_format, read_log

LOGS = Path(__file__).resolve().parents[1] / "data" / "cmt_logs"  # copies of shared/data/cmt_logs


def test_real_mmcv_text_logs():
    base = read_log(LOGS / "cmt_r50_baseline_1ep.log")
    aqr = read_log(LOGS / "cmt_aqr_r50_clamp2.5_res0.6_1ep.log")
    assert [r.epoch for r in base] == [1] and [r.epoch for r in aqr] == [1]
    assert base[0].metrics["pts_bbox_NuScenes/NDS"] == 0.6908
    assert base[0].metrics["pts_bbox_NuScenes/mAP"] == 0.6575
    assert aqr[0].metrics["pts_bbox_NuScenes/NDS"] == 0.6825
    assert aqr[0].metrics["pts_bbox_NuScenes/mAP"] == 0.6397
    assert math.isnan(aqr[0].metrics["pts_bbox_NuScenes/traffic_cone_attr_err"])
    assert aqr[0].metrics["pts_bbox_NuScenes/car_AP_dist_0.5"] == 0.7508
    # the AQR run's debug blocks give diagnostics: its BEV and camera maps sit at the 2.5 clamp
    assert aqr[0].diagnostics["aqr/bev_post_max"] == 2.5
    assert aqr[0].diagnostics["aqr/pers_relative_change"] == pytest.approx(0.360866)
    assert base[0].diagnostics == {}


def test_mmcv_json_log(tmp_path):
    path = tmp_path / "20251012_200000.log.json"
    rows = [{"env_info": "x", "config": "y"},
            {"mode": "train", "epoch": 1, "iter": 50, "lr": 1e-4, "loss": 13.3, "grad_norm": "nan"},
            {"mode": "val", "epoch": 1, "iter": 753, "lr": 1e-9,
             "pts_bbox_NuScenes/NDS": 0.6908, "pts_bbox_NuScenes/mAP": 0.6575,
             "pts_bbox_NuScenes/barrier_vel_err": float("nan")},
            {"mode": "val", "epoch": 2, "iter": 753, "pts_bbox_NuScenes/NDS": 0.70}]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    assert "NaN" in path.read_text()
    records = read_log(path)
    assert detect_format(path) == "mmcv_json"
    assert [(r.epoch, r.metrics["pts_bbox_NuScenes/NDS"]) for r in records] == [(1, 0.6908),
                                                                               (2, 0.70)]
    assert "lr" not in records[0].metrics and math.isnan(
        records[0].metrics["pts_bbox_NuScenes/barrier_vel_err"])


def test_mmengine_scalars_json_with_diagnostics(tmp_path):
    path = tmp_path / "20261124" / "vis_data" / "scalars.json"
    path.parent.mkdir(parents=True)
    lines = [
        '{"lr": 0.001, "loss": 2.0, "aqr/pers_post_max": 1.5, "epoch": 1, "iter": 10, "step": 10}',
        '{"NuScenes metric/pred_instances_3d_NuScenes/NDS": 0.31, "step": 1}',
        '{"lr": 0.001, "loss": 1.0, "aqr/pers_post_max": 2.5, "epoch": 2, "iter": 20, "step": 20}',
        '{"NuScenes metric/pred_instances_3d_NuScenes/NDS": NaN, "step": 2}',
    ]
    path.write_text("\n".join(lines) + "\n")
    records = read_log(path)
    key = "NuScenes metric/pred_instances_3d_NuScenes/NDS"
    assert [r.epoch for r in records] == [1, 2]
    assert records[0].metrics[key] == 0.31 and math.isnan(records[1].metrics[key])
    assert [r.diagnostics["aqr/pers_post_max"] for r in records] == [1.5, 2.5]


def test_follower_reads_only_complete_new_lines_of_new_files(tmp_path):
    old = tmp_path / "old" / "vis_data" / "scalars.json"
    old.parent.mkdir(parents=True)
    old.write_text('{"pts_bbox_NuScenes/NDS": 0.1, "step": 1}\n')
    import os
    import time

    os.utime(old, (time.time() - 100, time.time() - 100))
    follower = LogFollower(tmp_path, since=time.time() - 10)
    assert follower.poll() == []          # the earlier attempt's log is not this run's
    new = tmp_path / "new" / "vis_data" / "scalars.json"
    new.parent.mkdir(parents=True)
    with open(new, "w") as f:
        f.write('{"pts_bbox_NuScenes/NDS": 0.2, "step": 2}\n{"pts_bbox_NuScenes/NDS": 0.')
        f.flush()
        assert [r.epoch for r in follower.poll()] == [2]
        f.write('3, "step": 3}\n')
    assert [r.metrics["pts_bbox_NuScenes/NDS"] for r in follower.poll()] == [0.3]
    assert follower.poll() == []


def test_missing_log_is_a_clear_error(tmp_path):
    with pytest.raises(MissingFileError, match="log file not found"):
        read_log(tmp_path / "x.log")


def test_follower_switches_to_the_json_log_when_it_appears(tmp_path):
    run = tmp_path / "20261124_000000"
    run.mkdir()
    text = run / "20261124_000000.log"
    text.write_text("11/24 - mmengine - INFO - Epoch(val) [1][10/10]    eta: 0:00:00  "
                    "time: 0.0496  data_time: 0.0013\n")
    follower = LogFollower(tmp_path)
    assert follower.poll() == []          # a validation progress line is not a validation
    assert follower.path == text
    scalars = run / "vis_data" / "scalars.json"
    scalars.parent.mkdir()
    scalars.write_text('{"data_time": 0.001, "time": 0.05, "step": 1}\n'
                       '{"pts_bbox_NuScenes/NDS": 0.123456, "step": 1}\n')
    records = follower.poll()
    assert follower.path == scalars
    assert [r.metrics for r in records] == [{"pts_bbox_NuScenes/NDS": 0.123456}]


def test_follower_moves_to_the_new_log_of_a_restarted_run(tmp_path):
    """A launcher restart (or mmcv resuming) writes a new timestamped log: the rest of the old one
    is read, then the new one is followed."""
    first = tmp_path / "20261125_100000.log.json"
    first.write_text('{"env_info": "x"}\n{"mode": "val", "epoch": 1, "NDS": 0.5}\n')
    follower = LogFollower(tmp_path, log_format="mmcv_json")
    assert [r.epoch for r in follower.poll()] == [1]
    with open(first, "a") as f:
        f.write('{"mode": "val", "epoch": 2, "NDS": 0.6}\n')    # written before it died
    second = tmp_path / "20261125_100500.log.json"
    second.write_text('{"env_info": "x"}\n{"mode": "val", "epoch": 1, "NDS": 0.4}\n'
                      '{"mode": "val", "epoch": 2, "NDS": 0.55}\n')
    assert [(r.epoch, r.metrics["NDS"]) for r in follower.poll()] == [(2, 0.6), (1, 0.4), (2, 0.55)]
    assert follower.path == second
    with open(second, "a") as f:
        f.write('{"mode": "val", "epoch": 3, "NDS": 0.7}\n')
    assert [r.epoch for r in follower.poll()] == [3]


def test_a_line_without_a_whole_number_epoch_is_skipped(tmp_path):
    """One damaged line must not end the trial: a record needs a whole-number epoch."""
    mmcv = tmp_path / "a.log.json"
    mmcv.write_text("\n".join([
        '{"mode": "val", "epoch": "one", "NDS": 0.1}', '{"mode": "val", "epoch": null, "NDS": 0.1}',
        '{"mode": "val", "epoch": 1.5, "NDS": 0.1}', '{"mode": "val", "epoch": true, "NDS": 0.1}',
        '{"mode": "val", "epoch": -1, "NDS": 0.1}', '{"mode": "val", "epoch": [2], "NDS": 0.1}',
        '{"mode": "val", "epoch": 1e999, "NDS": 0.1}', '{"mode": "val", "epoch": NaN, "NDS": 0.1}',
        '{"mode": "val", "epoch": ' + "9" * 5000 + ', "NDS": 0.1}',
        '{"mode": "val", "epoch": 2.0, "NDS": 0.2}', '{"mode": "val", "epoch": 3, "NDS": 0.3}'])
        + "\n")
    assert [(r.epoch, r.metrics["NDS"]) for r in read_log(mmcv)] == [(2, 0.2), (3, 0.3)]

    scalars = tmp_path / "run" / "vis_data" / "scalars.json"
    scalars.parent.mkdir(parents=True)
    scalars.write_text("\n".join([
        '{"NDS": 0.1, "step": "x"}', '{"NDS": 0.1, "step": {}}', '{"NDS": 0.1}',
        '{"NDS": 0.1, "step": 99999999999}', '{"a": ' + "[" * 100_000 + "]" * 100_000 + "}",
        '{"NDS": 0.4, "step": 4}']) + "\n")
    assert [r.epoch for r in read_log(scalars)] == [4]

    text = tmp_path / "b.log"
    text.write_text("Epoch(val) [" + "9" * 5000 + "][10]\tpts/NDS: 0.5\n"
                    "Epoch(val) [2][10]\tpts/NDS: 0.6\n")
    assert [(r.epoch, r.metrics) for r in read_log(text)] == [(2, {"pts/NDS": 0.6})]


@pytest.mark.parametrize("name, whole, cut", [
    ("a.log", "Epoch(val) [1][10]\tpts/NDS: 0.5\nEpoch(val) [2][10]\tpts/NDS: 0.6825\n",
     "Epoch(val) [1][10]\tpts/NDS: 0.5\nEpoch(val) [2][10]\tpts/NDS: 0.6"),
    ("a.log.json", '{"mode": "val", "epoch": 1, "pts/NDS": 0.5}\n'
                   '{"mode": "val", "epoch": 2, "pts/NDS": 0.6825}\n',
     '{"mode": "val", "epoch": 1, "pts/NDS": 0.5}\n{"mode": "val", "epoch": 2, "pts/NDS": 0.6'),
])
def test_a_last_line_cut_while_written_is_left_out(tmp_path, name, whole, cut):
    """A killed training's log: its unfinished last line (``0.6`` of ``0.6825``) is no record,
    for ``logs``, ``import-log`` and a resumed trial as for the follower."""
    path = tmp_path / name
    path.write_text(whole)
    assert [(r.epoch, r.metrics) for r in read_log(path)] == [(1, {"pts/NDS": 0.5}),
                                                              (2, {"pts/NDS": 0.6825})]
    path.write_text(cut)
    assert [(r.epoch, r.metrics) for r in read_log(path)] == [(1, {"pts/NDS": 0.5})]


def test_a_long_log_line_is_read_in_linear_time(tmp_path):
    path = tmp_path / "c.log"
    path.write_text("Epoch(val) [1][10]\t" + "a" * 1_000_000 + " pts/NDS: 0.5\n"
                    "Epoch [1][5/10] " + "b/" * 500_000 + "aqr/x: 1.0\n")
    start = time.monotonic()
    (record,) = read_log(path)
    assert time.monotonic() - start < 2
    assert record.metrics == {"pts/NDS": 0.5}


@pytest.mark.parametrize("fmt, line", [
    ("mmcv_json", '{"mode": "val", "epoch": 3, "pts_bbox_NuScenes/NDS": null, "mAP": 0.2}'),
    ("mmengine_json", '{"pts_bbox_NuScenes/NDS": "n/a", "mAP": 0.2, "step": 3}'),
])
def test_a_metric_that_is_not_a_number_fails_its_trial_saying_so(tmp_path, fmt, line):
    """Not "NaN ... the training diverged": the log's own value is named."""
    from sweeps.logs import LOG_FORMATS
    from sweeps.run.failure import TrialError
    from sweeps.run.trial import report_of
    from sweeps.space import SweepSpace
    from tests.kit.spaces import space_dict

    record, = LOG_FORMATS[fmt]().parse(line + "\n")
    assert record.unreadable == {"pts_bbox_NuScenes/NDS": "null" if "null" in line else '"n/a"'}
    with pytest.raises(TrialError, match=r"^pts_bbox_NuScenes/NDS is (null|\"n/a\") at epoch 3, "
                                         "not a number: the evaluation did not produce it"):
        report_of(record, SweepSpace.model_validate(
            space_dict(tmp_path, metric="pts_bbox_NuScenes/NDS")))
