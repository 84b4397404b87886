from functools import reduce
xs = []
for i in range(300000):
    xs.append({"id": i, "score": i % 100})
total = reduce(lambda a, b: a + b, map(lambda o: o["score"] * 2, filter(lambda o: o["score"] > 50, xs)), 0)
print(total)
