# Mini CMT-AQR on synthetic scenes (mmengine config). The AQR knobs sit at the same dotted paths as
# in the real cmt_aqr_voxel0100_r50_800x320_cbgs.py, so one search space fits both:
#   model.pts_bbox_head.renderer_config.max_weight_clamp / .gaussian_sigma
#   model.pts_bbox_head.modulator_config.residual_weight
#   optim_wrapper.paramwise_cfg.custom_keys.<name>.lr_mult
custom_imports = dict(imports=["aqr.mini"], allow_failed_imports=False)

max_epochs = 6
batch_size = 8
data_seed = 0

model = dict(
    type="MiniCMTAQR",
    pts_bbox_head=dict(
        embed_dims=32,
        num_queries=256,
        num_layers=2,
        num_dn_groups=6,
        dn_noise=1.0,
        renderer_config=dict(
            type="WeightRenderer",
            render_method="gaussian",
            gaussian_sigma=1.0,
            min_weight_threshold=0.01,
            normalize_weights=True,
            max_weight_clamp=1.5,
            kernel_norm="peak",
        ),
        modulator_config=dict(
            type="FeatureModulator",
            modulation_type="element_wise",
            residual_connection=True,
            residual_weight=0.7,
            residual_mode="convex",
        ),
    ),
)

train_dataloader = dict(
    batch_size=batch_size,
    num_workers=0,
    sampler=dict(type="DefaultSampler", shuffle=True),
    collate_fn=dict(type="mini_collate"),
    dataset=dict(type="MiniNuScenesDataset", split="train", num_scenes=320, seed=data_seed),
)
val_dataloader = dict(
    batch_size=16,
    num_workers=0,
    sampler=dict(type="DefaultSampler", shuffle=False),
    collate_fn=dict(type="mini_collate"),
    dataset=dict(type="MiniNuScenesDataset", split="val", num_scenes=160, seed=data_seed),
)
val_evaluator = dict(type="MiniNuScenesMetric")

optim_wrapper = dict(
    type="OptimWrapper",
    optimizer=dict(type="AdamW", lr=2e-3, weight_decay=0.01),
    clip_grad=dict(max_norm=35, norm_type=2),
    paramwise_cfg=dict(
        custom_keys={
            "img_backbone": dict(lr_mult=1.0),
            "pts_backbone": dict(lr_mult=1.0),
            "aqr_weight_generator": dict(lr_mult=0.5),
            "weight_renderer": dict(lr_mult=0.5),
            "feature_modulator": dict(lr_mult=0.5),
            "transformer": dict(lr_mult=0.8),
            "query_embed": dict(lr_mult=0.8),
            "reference_points": dict(lr_mult=0.5),
            "task_heads": dict(lr_mult=0.8),
            "shared_conv": dict(lr_mult=0.8),
        }
    ),
)
param_scheduler = [
    dict(type="LinearLR", start_factor=0.1, by_epoch=False, begin=0, end=20),
    dict(type="CosineAnnealingLR", by_epoch=True, begin=0, T_max=max_epochs, eta_min_ratio=0.05,
         convert_to_iter_based=True),
]

train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=1)
val_cfg = dict()

default_hooks = dict(
    timer=dict(type="IterTimerHook"),
    logger=dict(type="LoggerHook", interval=10),
    param_scheduler=dict(type="ParamSchedulerHook"),
    checkpoint=dict(type="CheckpointHook", interval=1, max_keep_ckpts=2),
    sampler_seed=dict(type="DistSamplerSeedHook"),
)
# logs the AQR diagnostics and the two knobs' values (aqr/max_weight_clamp, aqr/residual_weight)
custom_hooks = [dict(type="AQRScheduleHook", interval=10,
                     watch=["pts_bbox_head.weight_renderer.max_weight_clamp",
                            "pts_bbox_head.feature_modulator.residual_weight"])]
log_processor = dict(by_epoch=True, window_size=10)
log_level = "INFO"
randomness = dict(seed=0)
env_cfg = dict(cudnn_benchmark=False, dist_cfg=dict(backend="gloo"))
