"""pickle and joblib."""

import pickle

if __name__ == "__main__":
    import joblib

    with open("data/in.pkl", "rb") as f:
        obj = pickle.load(f)
    obj2 = joblib.load("data/in.joblib")
    with open("out/out.pkl", "wb") as f:
        pickle.dump([obj, obj2], f)
    joblib.dump([obj, obj2], "out/out.joblib")
