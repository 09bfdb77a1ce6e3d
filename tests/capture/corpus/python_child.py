"""A Python subprocess reads and writes (it runs the injected hook too)."""

import subprocess
import sys

CHILD = "open('out/child.txt', 'w').write(open('data/in.txt').read())"

if __name__ == "__main__":
    subprocess.run([sys.executable, "-c", CHILD], check=True)
