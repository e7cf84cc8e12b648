"""Media: read video and image files into frames.

    sightings.media.probe    probe(path) -> VideoInfo: container, codec, size, fps, frame count, duration, keyframes
    sightings.media.sample   sample_frames(path, fps=|stride=) -> Frames, never decoding GOPs it does not need;
                             decode_all_frames (decode-everything baseline); write_samples (images + metadata.json)
    sightings.media.images   still images: sniffed, size-checked decoding, EXIF time and place
    sightings.media.hashing  perceptual hashes and near-duplicate groups

Importing this package pulls in nothing heavy: PyAV and Pillow are imported on first use.
"""
