"""Programs that are not Python: sh (its redirections) and awk."""

import subprocess

if __name__ == "__main__":
    subprocess.run(["sh", "-c", "cat data/in.txt > out/sh.txt"], check=True)
    with open("out/awk.txt", "w") as out:
        subprocess.run(["awk", "1", "data/in2.txt"], stdout=out, check=True)
    subprocess.run("awk 1 data/in3.txt > out/awk3.txt", shell=True, check=True)
