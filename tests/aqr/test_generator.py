import torch

from aqr.generator import AQRWeightGenerator


def front_camera(img_w=100, img_h=50, focal=50.0):
    """A camera at the origin looking along +x (LiDAR frame: x forward, y left, z up)."""
    cam_from_lidar = torch.tensor([[0.0, -1.0, 0.0, 0.0], [0.0, 0.0, -1.0, 0.0],
                                   [1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0]])
    intr = torch.tensor([[focal, 0.0, img_w / 2, 0.0], [0.0, focal, img_h / 2, 0.0],
                         [0.0, 0.0, 1.0, 0.0], [0.0, 0.0, 0.0, 1.0]])
    return intr @ cam_from_lidar


def test_weights_in_unit_range_and_positions():
    gen = AQRWeightGenerator(embed_dims=8, pc_range=(-10, -10, -2, 10, 10, 2),
                             bev_feature_shape=(20, 40), pers_feature_shape=(2, 5, 10),
                             img_shape=(50, 100))
    back = front_camera().clone()
    back[:, :3] = back[:, :3] @ torch.diag(torch.tensor([-1.0, -1.0, 1.0]))  # looks along -x
    lidar2img = torch.stack([front_camera(), back]).unsqueeze(0)
    # (x, y, z) metres: ahead, behind, straight up (no view)
    xyz = torch.tensor([[[5.0, 0.0, 0.0], [-5.0, 0.0, 0.0], [0.0, 0.0, 1.9]]])
    ref = (xyz - torch.tensor([-10.0, -10, -2])) / torch.tensor([20.0, 20, 4])
    out = gen(torch.randn(1, 3, 8), ref, lidar2img)
    assert out["lidar_weights"].shape == (1, 3)
    assert ((out["camera_weights"] >= 0) & (out["camera_weights"] <= 1)).all()
    torch.testing.assert_close(out["pts_bev"][0, 0], torch.tensor([10.0, 30.0]))
    view, row, col = out["pts_pers"][0].unbind(-1)
    assert view.tolist() == [0.0, 1.0, -1.0]
    # centre of the image -> centre of the 5x10 feature map
    torch.testing.assert_close(out["pts_pers"][0, 0, 1:], torch.tensor([2.5, 5.0]))


def test_gradients_reach_the_mlp():
    gen = AQRWeightGenerator(embed_dims=4, pers_feature_shape=(1, 5, 10), img_shape=(50, 100))
    out = gen(torch.randn(2, 5, 4), torch.rand(2, 5, 3), front_camera().expand(2, 1, 4, 4))
    (out["lidar_weights"].sum() + out["camera_weights"].sum()).backward()
    assert gen.mlp[0].weight.grad.abs().sum() > 0
