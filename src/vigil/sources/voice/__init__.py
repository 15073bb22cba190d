"""Voice input: audio files and the microphone -> what was said, addressed to Vigil or not.

``audio`` reads and checks WAV files (numpy); ``silero`` (onnxruntime) and ``sphinx``
(pocketsphinx) are the adapters for voice activity detection and grammar-constrained recognition;
``grammar`` is the wake phrase and the command grammar; ``listener`` gates the recogniser's answer
by confidence; ``microphone`` records from a capture device when one exists. Everything heavy is
imported inside the functions that need it, and only with the optional ``voice`` extra installed.
"""
