"""shutil.copy and shutil.move."""

import shutil

if __name__ == "__main__":
    shutil.copy("data/in.txt", "out/copied.txt")
    shutil.copyfile("data/in2.txt", "out/tmp.txt")
    shutil.move("out/tmp.txt", "out/moved.txt")
