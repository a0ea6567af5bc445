# Stand-in for CMTTEST/projects/configs/fusion/cmt_voxel0100_r50_800x320_cbgs.py of the CMT-AQR fork
# (github.com/Neko-coffee/test @ b0a62a5fe1570527bcfbdd1a0c2cd7203999a25a). Same keys and values for
# everything a sweep reads or sets (plugin keys, data.train ann_file list, head AQR switches, optimizer
# custom_keys, lr/momentum policy, total_epochs without `runner`, evaluation interval 20,
# checkpoint/log config, load_from); pipelines, backbones and losses are cut down to their types.
plugin=True
plugin_dir='projects/mmdet3d_plugin/'

point_cloud_range = [-54.0, -54.0, -5.0, 54.0, 54.0, 3.0]
class_names = [
    'car', 'truck', 'construction_vehicle', 'bus', 'trailer', 'barrier',
    'motorcycle', 'bicycle', 'pedestrian', 'traffic_cone'
]
voxel_size = [0.1, 0.1, 0.2]
out_size_factor = 8
evaluation = dict(interval=20)
dataset_type = 'CustomNuScenesDataset'
data_root = 'data/nuscenes/'
input_modality = dict(
    use_lidar=True, use_camera=True, use_radar=False, use_map=False, use_external=False)
train_pipeline = [dict(type='LoadPointsFromFile', coord_type='LIDAR', load_dim=5, use_dim=[0, 1, 2, 3, 4])]
test_pipeline = [dict(type='LoadPointsFromFile', coord_type='LIDAR', load_dim=5, use_dim=[0, 1, 2, 3, 4])]
data = dict(
    samples_per_gpu=4,
    workers_per_gpu=6,
    train=dict(
        type='CBGSDataset',
        dataset=dict(
            type=dataset_type,
            data_root=data_root,
            ann_file=[data_root + '/nuscenes_infos_train.pkl', data_root + '/nuscenes_infos_val.pkl'],
            load_interval=1,
            pipeline=train_pipeline,
            classes=class_names,
            modality=input_modality,
            test_mode=False,
            box_type_3d='LiDAR')),
    val=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file=data_root + '/nuscenes_infos_val.pkl',
        load_interval=1,
        pipeline=test_pipeline,
        classes=class_names,
        modality=input_modality,
        test_mode=True,
        box_type_3d='LiDAR'),
    test=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file=data_root + '/nuscenes_infos_val.pkl',
        load_interval=1,
        pipeline=test_pipeline,
        classes=class_names,
        modality=input_modality,
        test_mode=True,
        box_type_3d='LiDAR'))
model = dict(
    type='CmtDetector',
    use_grid_mask=False,
    img_backbone=dict(
        type='ResNet', depth=50, num_stages=4, out_indices=(2, 3), frozen_stages=-1,
        norm_cfg=dict(type='BN', requires_grad=True), norm_eval=True, with_cp=True,
        style='pytorch'),
    img_neck=dict(type='CPFPN', in_channels=[1024, 2048], out_channels=256, num_outs=2),
    pts_voxel_encoder=dict(type='DynamicVFE', in_channels=5, feat_channels=[64, 128]),
    pts_middle_encoder=dict(type='LidarMaskSparse', in_channels=128, sparse_shape=[41, 1024, 1024]),
    pts_backbone=dict(type='SECOND', in_channels=256, out_channels=[128, 256], layer_nums=[5, 5],
                      layer_strides=[1, 2]),
    pts_neck=dict(type='SECONDFPN', in_channels=[128, 256], out_channels=[256, 256],
                  upsample_strides=[1, 2]),
    pts_bbox_head=dict(
        type='CmtHead',
        in_channels=512,
        hidden_dim=256,
        downsample_scale=8,
        # AQR defaults (off; the AQR child config switches it on)
        enable_aqr=False,
        debug_mode=False,
        visualization_interval=100,
        use_simple_modulation=False,
        aqr_config=None,
        renderer_config=None,
        modulator_config=None,
        attention_bias_config=None,
        common_heads=dict(center=(2, 2), height=(1, 2), dim=(3, 2), rot=(2, 2), vel=(2, 2)),
        tasks=[dict(num_class=10, class_names=class_names)],
        transformer=dict(
            type='CmtTransformer',
            decoder=dict(
                type='PETRTransformerDecoder',
                return_intermediate=True,
                num_layers=6,
                transformerlayers=dict(
                    type='PETRTransformerDecoderLayer',
                    with_cp=False,
                    attn_cfgs=[
                        dict(type='MultiheadAttention', embed_dims=256, num_heads=8, dropout=0.1),
                        dict(type='PETRMultiheadFlashAttention', embed_dims=256, num_heads=8,
                             dropout=0.1),
                    ],
                    feedforward_channels=1024,
                    operation_order=('self_attn', 'norm', 'cross_attn', 'norm', 'ffn', 'norm')),
            )),
    ),
    train_cfg=dict(pts=dict(dataset='nuScenes', point_cloud_range=point_cloud_range)),
    test_cfg=dict(pts=dict(dataset='nuScenes', pc_range=point_cloud_range)))
optimizer = dict(
    type='AdamW',
    lr=0.00014,
    paramwise_cfg=dict(
        custom_keys={
            'img_backbone': dict(lr_mult=0.01, decay_mult=5),
            'img_neck': dict(lr_mult=0.1),
        }),
    weight_decay=0.01)  # for 8gpu * 2sample_per_gpu
optimizer_config = dict(
    type='CustomFp16OptimizerHook',
    loss_scale='dynamic',
    grad_clip=dict(max_norm=35, norm_type=2),
    custom_fp16=dict(pts_voxel_encoder=False, pts_middle_encoder=False, pts_bbox_head=False))

lr_config = dict(
    policy='cyclic',
    target_ratio=(6, 0.0001),
    cyclic_times=1,
    step_ratio_up=0.4)
momentum_config = dict(
    policy='cyclic',
    target_ratio=(0.8947368421052632, 1),
    cyclic_times=1,
    step_ratio_up=0.4)
total_epochs = 20
checkpoint_config = dict(interval=1)
log_config = dict(
    interval=50,
    hooks=[dict(type='TextLoggerHook'),
           dict(type='TensorboardLoggerHook')])
dist_params = dict(backend='nccl')
log_level = 'INFO'
work_dir = None
load_from='ckpts/nuim_r50.pth'
resume_from = None
workflow = [('train', 1)]
gpu_ids = range(0, 8)
