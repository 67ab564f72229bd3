from coopqa.cli import main

main()
