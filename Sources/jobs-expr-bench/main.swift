import Jobs
print("bench")
