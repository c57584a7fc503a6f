from novaload.cli import main

main()
