"""Evaluation against ground truth: MOT files (:mod:`.mot_io`), tracking metrics (:mod:`.tracking`: HOTA family
through TrackEval, CLEAR-MOT and identity metrics through py-motmetrics) and COCO-style detection AP
(:mod:`.detection`, through pycocotools). The metric libraries are the ``eval`` extra and load on first use.
"""
