from novaload.cli import command

command()
