"""builtin open, pathlib and os.open."""

import os
from pathlib import Path

if __name__ == "__main__":
    with open("data/in.txt") as f:
        text = f.read()
    text += Path("data/in2.txt").read_text()
    fd = os.open("data/in3.txt", os.O_RDONLY)
    text += os.read(fd, 1000).decode()
    os.close(fd)
    with open("out/builtin.txt", "w") as f:
        f.write(text)
    Path("out/pathlib.txt").write_text(text)
    fd = os.open("out/osopen.txt", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.write(fd, text.encode())
    os.close(fd)
