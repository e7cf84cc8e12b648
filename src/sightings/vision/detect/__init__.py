"""Object detectors, each implementing :class:`sightings.core.protocols.Detector`.

- :mod:`~sightings.vision.detect.ssd` — ``SsdDetector``: SSD-MobileNetV2-OIDv4 TFLite (offline default).
- :mod:`~sightings.vision.detect.yolo_onnx` — ``YoloOnnxDetector``: Ultralytics-style YOLO ONNX exports.
- :mod:`~sightings.vision.detect.opencv_builtin` — ``HogPeopleDetector``, ``HaarCatFaceDetector``: fallbacks.
- :mod:`~sightings.vision.detect.postprocess` — shared NMS, letterbox, tiling, SSD anchors and box decoding.

Create them by name through ``sightings.core.registry.DETECTORS``; this package imports no runtime itself.
"""
