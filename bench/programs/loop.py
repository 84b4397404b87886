s = 0
for i in range(3000000):
    s = s + i * 2 % 7
print(s)
