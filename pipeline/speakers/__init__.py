"""Who said which word: placing the words of each channel on one time line as speaker turns.
"""
