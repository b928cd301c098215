"""The foundation every other room builds on: one-line user errors, the argument rules, atomic files,
pixel ranges, the device, and stop requests. It imports nothing else of `src`."""
