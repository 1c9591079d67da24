print("utmd")
