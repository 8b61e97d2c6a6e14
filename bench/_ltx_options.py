"""Command-line overrides of an LTX explainer's fine-tuning settings, shared by `ltx_table.py` and `ltx_deletion_diagnosis.py`.

The pretrained weights always stay the card's: these flags change only how `explain` fine-tunes them."""

def add_ltx_options(ap):
    "Add the fine-tuning override flags to an `argparse.ArgumentParser`."
    from gift_nb.ltx import KEEP_TIED, PIXEL_UPDATES
    ap.add_argument('--finetune-lr', type=float, default=None, help='override the fine-tuning learning rate')
    ap.add_argument('--finetune-necessity', type=float, default=None, help="override LTX's `finetune_necessity` (not LTX's objective)")
    ap.add_argument('--finetune-pixel-lr', type=float, default=None, help="override LTX's `finetune_pixel_lr` (free per-pixel offsets, our addition)")
    ap.add_argument('--finetune-pixel-update', choices=PIXEL_UPDATES, default=None,
                    help="override LTX's `finetune_pixel_update`: the offsets share the AdamW (sign-sized steps) or take lr·∂loss/∂m steps")
    ap.add_argument('--keep-tied', choices=KEEP_TIED, default=None,
                    help="override LTX's `keep_tied`: which of the fine-tuning steps tied on the best POS-AUC is kept")
    ap.add_argument('--early-stop', type=float, default=None,
                    help="override LTX's `early_stop` (the shipped 5.0 is POS-AUC's floor on the fine grid; 0: always K steps)")
    ap.add_argument('--ce-neg', action='store_true', help="fine-tune with LTX's is_ce_neg prediction term")
    ap.add_argument('--logits-only', action='store_true', help="fine-tune with LTX's use_logits_only prediction term, -logit_y*")
    ap.add_argument('--mask-weight', type=float, default=None, help='override λ in fine-tuning')
    return ap

def ltx_overrides(a) -> dict:
    "The `load_ltx` keyword overrides given by parsed arguments `a` (only the flags that were set)."
    return {k: v for k, v in (('finetune_lr', a.finetune_lr), ('finetune_necessity', a.finetune_necessity),
                              ('finetune_pixel_lr', a.finetune_pixel_lr),
                              ('finetune_pixel_update', a.finetune_pixel_update), ('keep_tied', a.keep_tied),
                              ('early_stop', a.early_stop), ('ce_neg', True if a.ce_neg else None),
                              ('logits_only', True if a.logits_only else None), ('mask_weight', a.mask_weight)) if v is not None}
