print("utmctl")
