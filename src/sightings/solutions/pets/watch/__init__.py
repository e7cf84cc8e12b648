"""The street-camera watcher of pets lost & found: streams → cats/dogs → tracks → best crop per window → the API.

    cameras = load_cameras("cameras.yaml")                    # or [CameraConfig("cam1", "rtsp://...", 55.75, 37.6)]
    watcher = Watcher(cameras, sink=ApiSightingSink(PetsClient(url, api_key=key)), health_port=8765)
    watcher.run()                                             # one thread per camera; Ctrl-C or watcher.stop()

See docs/pets-watch.md. The watcher keeps no store of its own: every sighting goes to the engine over HTTP.
"""
