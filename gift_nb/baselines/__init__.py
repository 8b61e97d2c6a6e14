"""The systems GIFT is compared with, apart from the GIFT chain: CRAFT (.craft, .craft_plus), LTX (.ltx), TExplain
(.texplain), and the saliency metrics that judge LTX's maps (.saliency_metrics). Notebooks: nbs/baselines/.
Their old names (`gift_nb.craft`, `gift_nb.ltx`, ...) still import: see `gift_nb.MOVED_MODULES`."""
