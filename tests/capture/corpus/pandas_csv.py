"""pandas read_csv and to_csv."""

if __name__ == "__main__":
    import pandas as pd

    df = pd.read_csv("data/in.csv")
    df.assign(b=df.a * 2).to_csv("out/pandas.csv", index=False)
