"""A tiny deterministic stand-in for the fork's CmtDetector / CmtHead with AQR.

The head is built the way the fork's ``CmtHead._init_aqr_components`` builds its AQR modules
(cmt_head.py:358-467 at b0a62a5): the same defaults merged with the config's dicts, the same
constructor signatures (so an unknown key raises ``TypeError`` as it would there), and the same
modules constructed. What reaches the "quality" of a run mirrors what reaches computation in the
fork's forward (cmt_head.py:649-728):

* live: ``attention_bias_config`` (``bias_scale`` clamped to [min_scale, max_scale], ``window_size``,
  ``use_local_bias``, and ``gaussian_sigma`` only with ``use_gaussian_window=True``), and the
  ``lr_mult`` that mmcv's DefaultOptimizerConstructor gives the parameters of
  ``aqr_weight_generator``, ``attention_bias_generator.bias_scale``, ``transformer`` and
  ``reference_points`` (longest matching custom key wins, as in mmcv 1.x);
* dead: ``renderer_config`` (incl. ``max_weight_clamp``, ``gaussian_sigma``), ``modulator_config``
  (incl. ``residual_weight``), ``aqr_config.window_sizes`` (the fork builds the masks, but
  PETRMultiheadFlashAttention drops ``attn_mask``), lr_mult on ``weight_renderer`` /
  ``feature_modulator`` / ``query_embed`` / ``attention_bias_generator`` (no parameter of theirs
  reaches the optimizer under those keys), and unknown head keys (``CmtHead`` takes ``**kwargs``).

Validation NDS/mAP are a smooth function of the live knobs and the epoch, plus a small noise that
depends only on (seed, epoch), so a resumed run reproduces an uninterrupted one.

The fork's failures, reproduced: ``CmtAQRHead`` raises the fork's ``TypeError`` when it is built
(cmt_aqr_head.py:77,140: ``type=`` passed to constructors that take no ``type``); the bias
generator's debug print fails with a fixed scale (``learnable_scale=False``, ``debug_print=True``),
and :meth:`CmtDetector.forward` swallows it as cmt_head.py:1345-1355 does, printing
``[AQR ERROR]`` and training without the bias (the bias knobs are then dead); and the decoder
calls ``torch.nn.functional.scaled_dot_product_attention`` (attention.py:412), which torch before
2.0 (the logs' torch 1.9) lacks. ``CMT_STANDIN_SDPA=0`` writes that attention out instead, as a
fork mended for torch 1.x would.
"""
from __future__ import annotations

import math
import os
import random

import torch

MODELS: dict[str, type] = {}

BASELINE_NDS = 0.6908  # shared/data/cmt_logs/cmt_r50_baseline_1ep.log
BASELINE_MAP = 0.6575


def register(cls):
    MODELS[cls.__name__] = cls
    return cls


def build_model(cfg, train_cfg=None, test_cfg=None):
    cfg = dict(cfg)
    type_ = cfg.pop('type')
    if type_ not in MODELS:
        raise KeyError(f'{type_} is not in the models registry')
    try:
        return MODELS[type_](**cfg)
    except TypeError as err:  # mmcv's build_from_cfg: f'{obj_cls.__name__}: {e}'
        raise TypeError(f'{type_}: {err}') from None


# --- the fork's AQR modules: same constructor signatures and checks -------------------------

class AQRWeightGenerator:  # aqr_weight_generator.py:35-74
    def __init__(self, embed_dims=256, encoder_config=None, window_sizes=[15, 5], use_type_embed=True,  # noqa: B006
                 pc_range=[-54.0, -54.0, -5.0, 54.0, 54.0, 3.0], bev_feature_shape=(180, 180),  # noqa: B006
                 pers_feature_shape=(6, 40, 100), init_cfg=None):
        if encoder_config is None:
            raise ValueError('encoder_config is required for AQRWeightGenerator')
        self.embed_dims, self.window_sizes, self.use_type_embed = embed_dims, window_sizes, use_type_embed
        self.bev_h, self.bev_w = bev_feature_shape
        self.num_views, self.pers_h, self.pers_w = pers_feature_shape
        self.param_names = ['encoder.layers.0.attentions.0.attn.in_proj_weight',
                            'weight_predictor.weight', 'weight_predictor.bias']
        if use_type_embed:  # never used in forward: why the fork needs find_unused_parameters
            self.param_names += ['bev_type_embed', 'rv_type_embed']


class WeightRenderer:  # weight_renderer.py:36-67 (no parameters)
    def __init__(self, render_method='gaussian', gaussian_sigma=2.0, bilinear_radius=1.5,
                 distance_decay=0.8, min_weight_threshold=0.01, bev_feature_shape=(180, 180),
                 pers_feature_shape=(6, 40, 100), normalize_weights=True, max_weight_clamp=1.5,
                 init_cfg=None):
        methods = ['gaussian', 'bilinear', 'direct', 'distance_weighted']
        if render_method not in methods:
            raise ValueError(f'Unsupported render_method: {render_method}. Supported methods: {methods}')
        self.render_method, self.gaussian_sigma = render_method, gaussian_sigma
        self.max_weight_clamp = max_weight_clamp
        self.param_names: list[str] = []


class FeatureModulator:  # feature_modulator.py:32-61
    def __init__(self, modulation_type='element_wise', normalize_weights=True, residual_connection=True,
                 residual_weight=0.1, learnable_modulation=False, activation='none', init_cfg=None):
        types = ['element_wise', 'channel_wise', 'adaptive']
        if modulation_type not in types:
            raise ValueError(f'Unsupported modulation_type: {modulation_type}. Supported types: {types}')
        if activation not in ('none', 'sigmoid', 'tanh', 'relu'):
            raise ValueError(f'Unsupported activation: {activation}')
        self.residual_weight = residual_weight
        self.param_names = ['modulation_scale', 'modulation_bias'] if learnable_modulation else []


class AttentionBiasGenerator:  # attention_bias_generator.py:38-103
    def __init__(self, bev_feature_shape=(180, 180), pers_feature_shape=(6, 40, 100), window_size=15,
                 bias_scale=2.5, learnable_scale=True, min_scale=0.5, max_scale=5.0,
                 use_local_bias=True, use_gaussian_window=False, gaussian_sigma=2.5,
                 debug_print=True, print_interval=1000, fp16=True, init_cfg=None):
        self.window_size, self.bias_scale, self.learnable_scale = window_size, bias_scale, learnable_scale
        self.min_scale, self.max_scale, self.use_local_bias = min_scale, max_scale, use_local_bias
        self.use_gaussian_window, self.gaussian_sigma = use_gaussian_window, gaussian_sigma
        self.debug_print, self.print_interval = debug_print, print_interval
        self.param_names = ['bias_scale'] if learnable_scale else []  # else a buffer
        self.calls = 0
        print('✅ AttentionBiasGenerator initialized:')
        print(f'   Window size: {window_size} ({"local" if use_local_bias else "global"})')
        print(f'   Bias scale: {bias_scale} ({"learnable" if learnable_scale else "fixed"})')

    def forward(self, scale: float) -> torch.Tensor:
        """The bias (attention_bias_generator.py:180-292). Its debug print reads the scale's
        gradient, which a fixed scale (a buffer) does not have (:219-225)."""
        self.calls += 1
        if self.debug_print and self.calls % self.print_interval == 1:
            grad = None if not self.learnable_scale else torch.zeros(1)
            print(f'   scale grad: {grad[0].item():.6f}')  # None[0]: TypeError, as in the fork
        width = self.window_size if self.use_local_bias else 31
        bias = torch.full((width,), min(max(scale, self.min_scale), self.max_scale))
        if self.use_gaussian_window:
            bias = bias * torch.exp(-torch.arange(width) ** 2 / (2 * self.gaussian_sigma ** 2))
        return bias


class CmtHead:  # cmt_head.py:207-352, 358-467
    def __init__(self, in_channels, num_query=900, hidden_dim=128, enable_aqr=False, aqr_config=None,
                 renderer_config=None, modulator_config=None, attention_bias_config=None,
                 use_simple_modulation=False, debug_mode=False, visualization_interval=1000,
                 init_cfg=None, **kwargs):
        assert init_cfg is None
        self.hidden_dim, self.enable_aqr, self.debug_mode = hidden_dim, enable_aqr, debug_mode
        self.visualization_interval = visualization_interval
        self.use_simple_modulation = use_simple_modulation
        print(f"\n{'=' * 70}\n🔧 [CmtHead.__init__] AQR Configuration Status:\n"
              f"   enable_aqr = {enable_aqr}\n   debug_mode = {debug_mode}\n{'=' * 70}\n")
        self.modules = {'shared_conv': ['conv.weight'],
                        'transformer': ['decoder.layers.0.attentions.1.attn.in_proj_weight'],
                        'reference_points': ['weight'], 'bev_embedding': ['0.weight'],
                        'rv_embedding': ['0.weight'], 'task_heads': ['0.center.0.conv.weight']}
        if enable_aqr:
            self._init_aqr_components(aqr_config, renderer_config, modulator_config,
                                      attention_bias_config)

    def _init_aqr_components(self, aqr_config, renderer_config, modulator_config, attention_bias_config):
        aqr = dict(type='AQRWeightGenerator', embed_dims=self.hidden_dim,
                   encoder_config=dict(type='PETRTransformerDecoder', num_layers=1),
                   window_sizes=[15, 5], use_type_embed=True,
                   pc_range=[-54.0, -54.0, -5.0, 54.0, 54.0, 3.0])
        renderer = dict(type='WeightRenderer', render_method='gaussian', gaussian_sigma=2.0,
                        bev_feature_shape=(180, 180), pers_feature_shape=(6, 40, 100),
                        normalize_weights=True)
        modulator = dict(type='FeatureModulator', modulation_type='element_wise', normalize_weights=True,
                         residual_connection=True, residual_weight=0.1, learnable_modulation=False,
                         activation='none')
        bias = dict(type='AttentionBiasGenerator', bev_feature_shape=(180, 180),
                    pers_feature_shape=(6, 40, 100), window_size=15, bias_scale=2.5,
                    learnable_scale=True, min_scale=0.5, max_scale=5.0, use_local_bias=True, fp16=True)
        for default, given in ((aqr, aqr_config), (renderer, renderer_config),
                               (modulator, modulator_config), (bias, attention_bias_config)):
            if given:
                default.update(given)
            default.pop('type', None)
        self.aqr_weight_generator = AQRWeightGenerator(**aqr)
        self.weight_renderer = WeightRenderer(**renderer)
        self.feature_modulator = None if self.use_simple_modulation else FeatureModulator(**modulator)
        self.attention_bias_generator = AttentionBiasGenerator(**bias)
        self.modules['aqr_weight_generator'] = self.aqr_weight_generator.param_names
        self.modules['weight_renderer'] = self.weight_renderer.param_names
        if self.feature_modulator is not None:
            self.modules['feature_modulator'] = self.feature_modulator.param_names
        self.modules['attention_bias_generator'] = self.attention_bias_generator.param_names
        print('✅ AQR components initialized successfully!')


class CmtAQRHead(CmtHead):  # cmt_aqr_head.py:60-145
    """The fork's CmtAQRHead: it passes ``type=`` to the AQR modules (:77, :112, :122), which take
    no ``type`` (:140, :141, :145): a TypeError on every rank when the model is built."""

    def __init__(self, *args, aqr_config=None, renderer_config=None, modulator_config=None,
                 **kwargs):
        super().__init__(*args, **kwargs)
        aqr = dict(type='AQRWeightGenerator', embed_dims=self.hidden_dim,
                   encoder_config=dict(type='PETRTransformerDecoder'))
        aqr.update(aqr_config or {})
        self.aqr_weight_generator = AQRWeightGenerator(**aqr)


HEADS = {'CmtHead': CmtHead, 'CmtAQRHead': CmtAQRHead}


@register
class CmtDetector:
    """Parameter names as mmcv's optimizer constructor sees them; a few scalars as "weights"."""

    def __init__(self, pts_bbox_head, use_grid_mask=False, train_cfg=None, test_cfg=None, **parts):
        head = dict(pts_bbox_head)
        head_type = head.pop('type', 'CmtHead')
        try:
            self.head = HEADS[head_type](**head)
        except TypeError as err:
            raise TypeError(f'{head_type}: {err}') from None
        self.bias_failed = False
        self.parts = [k for k in ('img_backbone', 'img_neck', 'pts_voxel_encoder', 'pts_middle_encoder',
                                  'pts_backbone', 'pts_neck') if parts.get(k)]
        self.forward_count = 0
        self.state_dict_ = {'pts_bbox_head.reference_points.weight': torch.zeros(4, 3)}
        if self.head.enable_aqr:
            g = self.head.attention_bias_generator
            self.state_dict_['pts_bbox_head.attention_bias_generator.bias_scale'] = \
                torch.tensor([float(g.bias_scale)])
            self.state_dict_['pts_bbox_head.aqr_weight_generator.weight_predictor.bias'] = \
                torch.full((2,), 1.5)
        self.state_dict_['standin.epochs_trained'] = torch.zeros(1)
        self.state_dict_['standin.pretrained'] = torch.zeros(1)
        self.state_dict_['standin.diverged'] = torch.zeros(1)

    def forward(self) -> None:
        """One forward's AQR path: the bias, its error swallowed as cmt_head.py:1345-1355 does
        (and the bias knobs then change nothing), then the decoder's attention (attention.py:412)."""
        bias = None
        if self.head.enable_aqr:
            scale = float(self.state_dict_['pts_bbox_head.attention_bias_generator.bias_scale'])
            try:
                bias = self.head.attention_bias_generator.forward(scale)
            except Exception as err:
                print(f"\n{'=' * 70}\n❌ [AQR ERROR] Attention Bias Generation Failed!\n"
                      f"   Error Type: {type(err).__name__}\n   Error Message: {err}\n"
                      f"   Using None (no bias) for this forward pass.\n{'=' * 70}", flush=True)
            self.bias_failed = bias is None
        q = torch.zeros(1, 1, 2, 4)
        if os.environ.get('CMT_STANDIN_SDPA') == '0':
            torch.softmax(q @ q.transpose(-2, -1) * 0.5, dim=-1) @ q
        else:
            torch.nn.functional.scaled_dot_product_attention(q, q, q, scale=0.5)

    def named_parameters(self):
        names = [f'{p}.weight' for p in self.parts]
        for module, params in self.head.modules.items():
            names += [f'pts_bbox_head.{module}.{p}' for p in params]
        return names

    def state_dict(self):
        return {k: v.clone() for k, v in self.state_dict_.items()}

    def load_state_dict(self, state, strict=False):
        unexpected = [k for k in state if k not in self.state_dict_]
        missing = [k for k in self.state_dict_ if k not in state]
        for k, v in state.items():
            if k in self.state_dict_ and torch.is_tensor(v) and v.shape == self.state_dict_[k].shape:
                self.state_dict_[k] = v.clone().float()
        return missing, unexpected

    # ---------------------------------------------------------------------------------------
    def lr_mults(self, custom_keys) -> dict[str, float]:
        """The lr_mult of each parameter, by mmcv 1.x DefaultOptimizerConstructor.add_params:
        custom keys sorted by length (longest first), first key that is a substring wins."""
        keys = sorted(sorted(custom_keys), key=len, reverse=True)
        out = {}
        for name in self.named_parameters():
            out[name] = 1.0
            for key in keys:
                if key in name:
                    out[name] = float(custom_keys[key].get('lr_mult', 1.0))
                    break
        return out

    def train_epoch(self, custom_keys, lr_scale: float) -> None:
        """One epoch's effect on the weights: the learnable bias_scale drifts to its optimum."""
        key = 'pts_bbox_head.attention_bias_generator.bias_scale'
        if key in self.state_dict_ and self.head.attention_bias_generator.learnable_scale:
            rate = min(1.0, 0.15 * lr_scale * self.lr_mults(custom_keys).get(key, 1.0))
            s = self.state_dict_[key]
            self.state_dict_[key] = s + rate * (1.8 - s)
        self.state_dict_['standin.epochs_trained'] += 1

    def quality(self, custom_keys, lr_scale: float, epoch: int, max_epochs: int,
                seed: int) -> tuple[float, float]:
        """(NDS, mAP) after ``epoch`` epochs; NaN once diverged."""
        if float(self.state_dict_['standin.diverged']) > 0:
            return math.nan, math.nan
        delta = 0.0
        head = self.head
        mults = self.lr_mults(custom_keys)

        def mult(fragment, default=1.0):
            vals = [m for n, m in mults.items() if fragment in n]
            return vals[0] if vals else default

        if head.enable_aqr and not self.bias_failed:
            g = head.attention_bias_generator
            scale = float(self.state_dict_['pts_bbox_head.attention_bias_generator.bias_scale'])
            if g.learnable_scale:
                scale = min(max(scale, g.min_scale), g.max_scale)  # attention_bias_generator.py:204
            scale = min(scale, 5.0, g.max_scale)  # the final clamp, :291-292
            delta += 0.006 - 0.02 * math.log(max(scale, 1e-3) / 1.8) ** 2
            if g.use_local_bias:
                delta -= 0.0004 * (g.window_size - 7) ** 2
                if g.use_gaussian_window:
                    delta += 0.003 - 0.006 * math.log(max(g.gaussian_sigma, 1e-3) / (g.window_size / 4)) ** 2
            else:
                delta -= 0.008
            m_aqr = mult('aqr_weight_generator.weight_predictor')
            delta -= 0.01 if m_aqr <= 0 else 0.004 * math.log(m_aqr / 0.5) ** 2
        m_t = mult('pts_bbox_head.transformer.')
        delta -= 0.01 * (m_t - 0.6) ** 2
        m_ref = mult('pts_bbox_head.reference_points')
        delta -= 0.002 * (m_ref - 0.8) ** 2
        delta -= 0.01 * math.log(max(lr_scale, 1e-3)) ** 2  # base lr away from the fork's 1e-4

        pretrained = float(self.state_dict_['standin.pretrained']) > 0
        target_nds = BASELINE_NDS + delta
        start = BASELINE_NDS - 0.015 if pretrained else 0.25
        tau = 1.5 if pretrained else 4.0
        curve = 1.0 - math.exp(-epoch / tau)
        anneal = 0.004 * (epoch / max(max_epochs, 1)) ** 2  # the cyclic schedule's low-lr end
        noise = random.Random(f'{seed}:{epoch}').uniform(-1.0, 1.0) * 0.0015
        nds = start + (target_nds - start) * curve + anneal + noise
        map_ = nds - (BASELINE_NDS - BASELINE_MAP) * (1.0 + 0.1 * (1.0 - curve)) + 0.5 * noise
        return nds, map_
