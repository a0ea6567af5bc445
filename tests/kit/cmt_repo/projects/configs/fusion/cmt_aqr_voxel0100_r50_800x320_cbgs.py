# Stand-in for CMTTEST/projects/configs/fusion/cmt_aqr_voxel0100_r50_800x320_cbgs.py of the CMT-AQR
# fork (github.com/Neko-coffee/test @ b0a62a5fe1570527bcfbdd1a0c2cd7203999a25a): the same keys and
# values, comments shortened. As in the fork, the first `model = dict(...)` below is overwritten by
# the second one (plain Python rebinding), so its frozen_stages / norm_eval never reach the config.
_base_ = ['./cmt_voxel0100_r50_800x320_cbgs.py']

optimizer = dict(
    type='AdamW',
    lr=0.0001,
    paramwise_cfg=dict(
        custom_keys={
            'img_backbone': dict(lr_mult=0.0),
            'pts_backbone': dict(lr_mult=0.0),
            'pts_voxel_encoder': dict(lr_mult=0.0),
            'pts_middle_encoder': dict(lr_mult=0.0),
            'img_neck': dict(lr_mult=0.05),
            'pts_neck': dict(lr_mult=0.05),
            'transformer': dict(lr_mult=0.5),
            'query_embed': dict(lr_mult=0.3),
            'reference_points': dict(lr_mult=0.8),
            'aqr_weight_generator': dict(lr_mult=1.0),
            'attention_bias_generator': dict(lr_mult=1.0),
            # a key with a dot: mmcv matches it as a substring of the parameter name, longest key
            # first; `--cfg-options` cannot address it (the dot splits the path)
            'attention_bias_generator.bias_scale': dict(lr_mult=0.5),
        }
    ),
    weight_decay=0.01
)

# dead in the fork too: rebound by the next `model = dict(...)`
model = dict(
    img_backbone=dict(frozen_stages=4, norm_eval=True),
    pts_backbone=dict(frozen_stages=3),
    img_neck=dict(norm_eval=True),
    pts_neck=dict(norm_eval=True),
)

model = dict(
    pts_bbox_head=dict(
        _delete_=False,
        enable_aqr=True,
        debug_mode=True,
        visualization_interval=100,
        aqr_config=dict(
            _delete_=True,
            embed_dims=256,
            window_sizes=[8, 5],
            use_type_embed=True,
            bev_feature_shape=(128, 128),
            pers_feature_shape=(6, 20, 50),
            encoder_config=dict(
                type='PETRTransformerDecoder',
                return_intermediate=True,
                num_layers=1,
                transformerlayers=dict(
                    type='PETRTransformerDecoderLayer',
                    with_cp=False,
                    attn_cfgs=[
                        dict(type='PETRMultiheadFlashAttention', embed_dims=256, num_heads=4,
                             dropout=0.1),
                    ],
                    ffn_cfgs=dict(type='FFN', embed_dims=256, feedforward_channels=1024,
                                  num_fcs=2, ffn_drop=0.1, act_cfg=dict(type='ReLU', inplace=True)),
                    feedforward_channels=1024,
                    operation_order=('cross_attn', 'norm', 'ffn', 'norm')
                )
            )
        ),
        renderer_config=dict(
            _delete_=True,
            render_method='gaussian',
            gaussian_sigma=1.0,
            bilinear_radius=1.5,
            distance_decay=0.8,
            min_weight_threshold=0.01,
            bev_feature_shape=(128, 128),
            pers_feature_shape=(6, 20, 50),
            normalize_weights=True
        ),
        use_simple_modulation=False,
        modulator_config=dict(
            _delete_=True,
            type='FeatureModulator',
            modulation_type='element_wise',
            normalize_weights=False,
            residual_connection=True,
            residual_weight=0.7,
            learnable_modulation=False,
            activation='none'
        ),
        attention_bias_config=dict(
            _delete_=True,
            type='AttentionBiasGenerator',
            bev_feature_shape=(128, 128),
            pers_feature_shape=(6, 20, 50),
            window_size=8,
            bias_scale=2.5,
            learnable_scale=True,
            min_scale=0.5,
            max_scale=5.0,
            use_local_bias=True,
            use_gaussian_window=False,
            gaussian_sigma=2.0,
            debug_print=True,
            print_interval=1000,
            fp16=True
        ),
    )
)

find_unused_parameters = True
