import os

with open(os.path.join(os.path.dirname(__file__), "words.txt")) as f:
    WORDS = f.read().split()


def main():
    print(" ".join(WORDS))
