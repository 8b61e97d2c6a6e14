"""Command-line overrides of an LTX explainer's fine-tuning settings, shared by `ltx_table.py` and `ltx_deletion_diagnosis.py`.

Each flag's destination is the `LTX` / `load_ltx` keyword it overrides, so the flags are listed once. The pretrained
weights always stay the card's: these flags change only how `explain` fine-tunes them."""

def add_ltx_options(ap):
    "Add the fine-tuning override flags to an `argparse.ArgumentParser` (unset flags stay None and override nothing)."
    from gift_nb.baselines.ltx import KEEP_TIED, PIXEL_UPDATES
    g = ap.add_argument_group("fine-tuning overrides (LTX's keyword arguments; default: the card's settings)")
    opts = [
        g.add_argument('--finetune-lr', type=float, help='override the fine-tuning learning rate'),
        g.add_argument('--finetune-necessity', type=float, help="override LTX's `finetune_necessity` (not LTX's objective)"),
        g.add_argument('--finetune-pixel-lr', type=float, help="override LTX's `finetune_pixel_lr` (free per-pixel offsets, our addition)"),
        g.add_argument('--finetune-pixel-update', choices=PIXEL_UPDATES,
                       help="override LTX's `finetune_pixel_update`: the offsets share the AdamW (sign-sized steps) or take lr·∂loss/∂m steps"),
        g.add_argument('--keep-tied', choices=KEEP_TIED,
                       help="override LTX's `keep_tied`: which of the fine-tuning steps tied on the best POS-AUC is kept"),
        g.add_argument('--early-stop', type=float,
                       help="override LTX's `early_stop` (the shipped 5.0 is POS-AUC's floor on the fine grid; 0: always K steps)"),
        g.add_argument('--ce-neg', action='store_true', default=None, help="fine-tune with LTX's is_ce_neg prediction term"),
        g.add_argument('--logits-only', action='store_true', default=None,
                       help="fine-tune with LTX's use_logits_only prediction term, -logit_y*"),
        g.add_argument('--mask-weight', type=float, help='override λ in fine-tuning')]
    ap.set_defaults(_ltx_keywords=tuple(o.dest for o in opts))
    return ap

def ltx_overrides(a) -> dict:
    "The `load_ltx` keyword overrides given by arguments `a` parsed with `add_ltx_options` (only the flags that were set)."
    return {k: getattr(a, k) for k in a._ltx_keywords if getattr(a, k) is not None}
