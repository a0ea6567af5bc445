"""A trial's checkpoints: what a resume goes on from, and the ones a stop during a validation left
unvalidated set aside, read back by mmengine's own ``find_latest_checkpoint`` and by mmcv 1.x's
rule (``latest.pth``)."""

import os

from mmengine.runner.checkpoint import find_latest_checkpoint

from sweeps.backends import has_checkpoint, rewind_to_validated


def saved(work_dir, epochs, mmengine=True, mmcv=True):
    """What the two runners leave after saving ``epochs``: epoch_N.pth, last_checkpoint (the
    newest's absolute path), latest.pth (a link to the newest)."""
    for epoch in epochs:
        (work_dir / f"epoch_{epoch}.pth").write_bytes(f"ckpt {epoch}".encode())
    if mmengine:
        (work_dir / "last_checkpoint").write_text(str(work_dir / f"epoch_{epochs[-1]}.pth"))
    if mmcv:
        os.symlink(f"epoch_{epochs[-1]}.pth", work_dir / "latest.pth")


def test_has_checkpoint(tmp_path):
    assert not has_checkpoint(tmp_path)
    (tmp_path / "epoch_1.pth").write_bytes(b"")
    assert has_checkpoint(tmp_path)


def test_a_checkpoint_saved_but_never_validated_is_set_aside(tmp_path):
    saved(tmp_path, [1, 2, 3])
    note = rewind_to_validated(tmp_path, validated=2)
    assert note == ("aqr-sweep: epoch_3.pth saved but never validated (the training stopped "
                    "during its validation): set aside as *.unvalidated; the resumed training "
                    "goes on from epoch_2.pth")
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "epoch_1.pth", "epoch_2.pth", "epoch_3.pth.unvalidated", "last_checkpoint", "latest.pth"]
    assert find_latest_checkpoint(str(tmp_path)) == str(tmp_path / "epoch_2.pth")  # mmengine
    assert os.readlink(tmp_path / "latest.pth") == "epoch_2.pth"                   # mmcv 1.x
    assert (tmp_path / "latest.pth").read_bytes() == b"ckpt 2"
    assert (tmp_path / "epoch_3.pth.unvalidated").read_bytes() == b"ckpt 3"      # kept, renamed


def test_every_checkpoint_validated_changes_nothing(tmp_path):
    saved(tmp_path, [1, 2])
    before = {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()}
    assert rewind_to_validated(tmp_path, validated=2) is None
    assert rewind_to_validated(tmp_path, validated=5) is None
    assert {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()} == before
    assert rewind_to_validated(tmp_path / "none", validated=0) is None  # no work dir yet


def test_with_no_validated_checkpoint_left_it_never_starts_over(tmp_path):
    """``max_keep_ckpts: 1`` removed the validated one: the resume goes on from the unvalidated
    checkpoint (at max_epochs the trial then fails naming it), never from the start."""
    saved(tmp_path, [3])
    (tmp_path / "best_NDS_epoch_1.pth").write_bytes(b"best")  # not an epoch checkpoint
    assert rewind_to_validated(tmp_path, validated=2) is None
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "best_NDS_epoch_1.pth", "epoch_3.pth", "last_checkpoint", "latest.pth"]
    assert find_latest_checkpoint(str(tmp_path)) == str(tmp_path / "epoch_3.pth")


def test_one_runner_s_pointer_only_and_several_unvalidated(tmp_path):
    saved(tmp_path, [1, 2, 3, 4], mmcv=False)  # mmengine: no latest.pth
    note = rewind_to_validated(tmp_path, validated=2)
    assert note.startswith("aqr-sweep: epoch_3.pth, epoch_4.pth saved but never validated")
    assert not (tmp_path / "latest.pth").exists()
    assert find_latest_checkpoint(str(tmp_path)) == str(tmp_path / "epoch_2.pth")
